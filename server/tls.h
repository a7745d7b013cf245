// TLS for the HTTP front (private to server/http_server.cc): libwebsockets' OpenSSL on the
// listening vhost, whose accepted sockets are raw sockets we frame HTTP/1.1 on ourselves.
//
// Facts checked in libwebsockets 4.1.6 (Debian 12): a raw-skt vhost with a certificate does the
// TLS handshake itself, non-blocking on the service thread (LWS_CALLBACK_RAW_ADOPT comes at
// accept, before the handshake; the first LWS_CALLBACK_RAW_RX after it), and lws_write,
// partial writes and rx flow control go through the TLS session unchanged. Two things need
// care: lws arms its own handshake timeout, and after the handshake a second one that nothing
// in the raw role lifts (it would cut a long GetMedia); and an "h2" chosen by ALPN moves the
// connection to lws's own HTTP/2 role (lws_tls_server_conn_alpn, right after the handshake, with
// no option to stop it), which we do not use: we serve HTTP/2 ourselves with nghttp2
// (server/http2_conn.h) on the raw socket. So ALPN offers "h2" and "http/1.1", and lws is kept
// from seeing the choice: tls.cc defines SSL_get0_alpn_selected, which the dynamic linker binds
// lws's call to ahead of OpenSSL's, and which answers "no ALPN" for a server-side "h2" (client
// connections in the same process see the real answer). NegotiatedH2 asks OpenSSL itself.
#pragma once

#include <libwebsockets.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace streamarc::server {

// Loads the PEM certificate chain and private key with OpenSSL, as libwebsockets will, so that
// a file that cannot be read, is no certificate or key, or does not match the other is refused
// with a message naming it. Returns what the log tells about the certificate (its subject and
// expiry).
Result<std::string> CheckTlsFiles(const std::string& cert_file, const std::string& key_file);

// Sets the fields of `info` that make its vhost speak TLS with these files (which must outlive
// `info`'s use): ALPN "h2" then "http/1.1", TLS 1.2 at least, no renegotiation, lws's handshake
// timeout at `handshake_timeout_ms`, and plain HTTP let through to the raw protocol so it can be
// told to use https (IsPlainHttp).
void ConfigureTls(const std::string& cert_file, const std::string& key_file,
                  int64_t handshake_timeout_ms, lws_context_creation_info* info);

// True when the connection's ALPN chose HTTP/2 ("h2"). After the handshake.
bool NegotiatedH2(lws* wsi);

// At a TLS port's connection's first read: lifts lws's handshake timeouts (the server's own
// deadlines apply from here). False when the client spoke plain HTTP instead of TLS.
bool EndHandshake(lws* wsi);

// The answer to plain HTTP on a TLS port (400, then the connection closes).
inline constexpr char kPlainHttpOnTlsPort[] =
    "This port speaks HTTPS: the request was sent as plain HTTP. Use an https:// URL";

// Before the write side of a TLS connection is shut (lingering close): sends TLS's
// close_notify so the client reads a clean end of the answer. Nothing for a plain connection.
void SendCloseNotify(lws* wsi);

}  // namespace streamarc::server
