// The access key the console signs with (api.js asks for it), and the form that asks the
// person for it: shown when the server wants a key and none is stored, or when it refused
// the one given. Kept in sessionStorage (this tab, until it closes), or in localStorage when
// "remember on this device" is ticked. The secret stays in the browser: it signs requests
// and is never sent.

const kStorageKey = 'streamarc.credentials';
let memory = null;  // the key, when the browser refuses to store it

function parse(text) {
  try {
    const c = JSON.parse(text);
    return c && c.accessKeyId && c.secretAccessKey ? c : null;
  } catch {
    return null;
  }
}

// { accessKeyId, secretAccessKey, region ('' for the default) } or null. A storage the
// browser refuses (privacy settings) reads as empty.
export function stored() {
  try {
    return parse(sessionStorage.getItem(kStorageKey)) || parse(localStorage.getItem(kStorageKey));
  } catch {
    return null;
  }
}

function save(creds, remember) {
  forget();
  try {
    (remember ? localStorage : sessionStorage).setItem(kStorageKey, JSON.stringify(creds));
  } catch {
    // Not stored: the key still signs from memory until the page is left.
    memory = creds;
  }
}

export function forget() {
  memory = null;
  try {
    sessionStorage.removeItem(kStorageKey);
    localStorage.removeItem(kStorageKey);
  } catch {
    // Nothing could have been stored.
  }
}

// The key to sign with now: stored, or given in this page when storage is refused.
export function current() {
  return stored() || memory;
}

function element(tag, props = {}, children = []) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

// "Signed in as AKID… · Sign out" in the header while a key is held.
function renderSignOut() {
  const header = document.querySelector('header');
  if (!header) return;
  let box = document.getElementById('signout-box');
  const creds = current();
  if (!creds) {
    if (box) box.remove();
    return;
  }
  if (!box) {
    const button = element('button', { type: 'button', id: 'signout', textContent: 'Sign out' });
    // Reloaded, the page asks again if the server wants a key.
    button.addEventListener('click', () => {
      forget();
      location.reload();
    });
    box = element('span', { id: 'signout-box', className: 'signout' },
                  [element('span', { className: 'who' }), button]);
    header.append(box);
  }
  box.querySelector('.who').textContent = creds.accessKeyId;
  box.querySelector('.who').title = `Signed in with access key ${creds.accessKeyId}`;
}

let pending = null;  // { promise, showError }: one form however many calls wait on it

// Shows the sign-in form with `reason` (why the last key was refused; null for none) and
// resolves with the key given, once stored. Calls that arrive while it is open wait for the
// same key; a later reason replaces the shown one.
export function ask(reason) {
  if (pending) {
    if (reason) pending.showError(reason);
    return pending.promise;
  }
  const error = element('p', { className: 'error', hidden: true });
  error.setAttribute('role', 'alert');
  const field = (label, input) => element('label', {}, [label, input]);
  const id = element('input', { name: 'accessKeyId', required: true, autocomplete: 'username',
                                spellcheck: false });
  const secret = element('input', { name: 'secretAccessKey', type: 'password', required: true,
                                    autocomplete: 'current-password' });
  const region = element('input', { name: 'region', placeholder: 'us-east-1',
                                    autocomplete: 'off', spellcheck: false });
  const remember = element('input', { name: 'remember', type: 'checkbox' });
  const previous = current();
  if (previous) {
    id.value = previous.accessKeyId;
    region.value = previous.region || '';
  }
  const form = element('form', { className: 'signin' }, [
    element('h2', { textContent: 'Sign in' }),
    element('p', { className: 'note',
                   textContent: 'This server accepts signed requests only: give one of its ' +
                                'access keys. The secret stays in this browser.' }),
    error,
    field('Access key ID', id),
    field('Secret access key', secret),
    field('Region (optional)', region),
    element('label', { className: 'check' }, [remember, 'Remember on this device']),
    element('button', { type: 'submit', textContent: 'Sign in' }),
  ]);
  const dialog = element('dialog', { id: 'signin' }, [form]);
  // Escape would close the dialog and leave the calls waiting on it for ever.
  dialog.addEventListener('cancel', (ev) => ev.preventDefault());
  document.body.append(dialog);
  const showError = (text) => {
    error.textContent = text;
    error.hidden = !text;
  };
  showError(reason);
  const promise = new Promise((resolve) => {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const creds = { accessKeyId: id.value.trim(), secretAccessKey: secret.value,
                      region: region.value.trim() };
      save(creds, remember.checked);
      pending = null;
      dialog.close();
      dialog.remove();
      renderSignOut();
      resolve(creds);
    });
  });
  pending = { promise, showError };
  dialog.showModal();
  (previous ? secret : id).focus();
  return promise;
}

if (typeof document !== 'undefined') renderSignOut();
