// S3's XML replies (ListObjectsV2, <Error>), parsed by libxml2 into a tree and read by local
// element names, so any namespace (AWS's, s3rver's) is accepted.
#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <memory>

#include "objectstore/s3.h"

namespace streamarc::objectstore {

namespace {

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocFree>;
struct XmlCtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};
struct CurlStringFree {
  void operator()(char* s) const { curl_free(s); }
};

// The document, or the parser's complaint. No network, no entity substitution, errors kept
// off stderr; a DOCTYPE is refused outright (S3 never sends one), which rules out entity
// expansion of any kind.
Result<XmlDoc> ParseXml(std::string_view xml) {
  // libxml2 wants its global state set up once before threads share it; a static is
  // initialised exactly once (C++ guarantees it thread-safely).
  [[maybe_unused]] static const bool initialised = (xmlInitParser(), true);
  if (xml.empty()) return DataLoss("empty XML body");
  if (xml.size() > static_cast<size_t>(INT_MAX)) return DataLoss("XML body too large");
  std::unique_ptr<xmlParserCtxt, XmlCtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) return Internal("xmlNewParserCtxt failed");
  XmlDoc doc(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), nullptr,
                               nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) {
    const xmlError* err = xmlCtxtGetLastError(ctxt.get());
    std::string what = err != nullptr && err->message != nullptr ? err->message : "unknown error";
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    int line = err != nullptr ? err->line : 0;
    return DataLoss("malformed XML (line " + std::to_string(line) + "): " + what);
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return DataLoss("XML with a DOCTYPE is not an S3 reply");
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) return DataLoss("XML without a root element");
  return doc;
}

bool IsElement(const xmlNode* n, const char* name) {
  return n->type == XML_ELEMENT_NODE &&
         std::strcmp(reinterpret_cast<const char*>(n->name), name) == 0;
}

// The element's text: its text and CDATA children, joined (no entity references can be left:
// predefined ones are text already and a DOCTYPE was refused).
std::string Text(const xmlNode* element) {
  std::string out;
  for (const xmlNode* c = element->children; c != nullptr; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != nullptr) {
      out += reinterpret_cast<const char*>(c->content);
    }
  }
  return out;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// EncodingType=url: the form encoding S3 uses for keys ('+' is a space, %XX a byte).
Result<std::string> UrlDecode(std::string s) {
  for (char& c : s) {
    if (c == '+') c = ' ';
  }
  if (s.size() > static_cast<size_t>(INT_MAX)) return DataLoss("URL-encoded key too long");
  int len = 0;
  std::unique_ptr<char, CurlStringFree> out(
      curl_easy_unescape(nullptr, s.data(), static_cast<int>(s.size()), &len));
  if (!out) return Internal("curl_easy_unescape failed");
  return std::string(out.get(), static_cast<size_t>(len));
}

Result<ObjectEntry> ParseContents(const xmlNode* contents) {
  ObjectEntry e;
  bool has_key = false;
  bool has_size = false;
  for (const xmlNode* c = contents->children; c != nullptr; c = c->next) {
    if (IsElement(c, "Key")) {
      e.key = Text(c);
      has_key = true;
    } else if (IsElement(c, "Size")) {
      std::string s = Text(c);
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), e.size);
      if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
        return DataLoss("ListObjectsV2: <Size> is not a byte count: \"" + s.substr(0, 64) + "\"");
      }
      has_size = true;
    } else if (IsElement(c, "ETag")) {
      e.etag = Unquote(Text(c));
    }
  }
  if (!has_key || e.key.empty()) return DataLoss("ListObjectsV2: a <Contents> without a <Key>");
  if (!has_size) return DataLoss("ListObjectsV2: <Contents> of \"" + e.key + "\" has no <Size>");
  return e;
}

}  // namespace

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  ASSIGN_OR_RETURN(XmlDoc doc, ParseXml(xml));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!IsElement(root, "ListBucketResult")) {
    return DataLoss(std::string("ListObjectsV2: the reply is <") +
                    reinterpret_cast<const char*>(root->name) + ">, not <ListBucketResult>");
  }
  ListPage page;
  bool url_encoded = false;
  for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (IsElement(c, "Contents")) {
      ASSIGN_OR_RETURN(ObjectEntry e, ParseContents(c));
      page.entries.push_back(std::move(e));
    } else if (IsElement(c, "IsTruncated")) {
      std::string v = Text(c);
      if (v != "true" && v != "false") {
        return DataLoss("ListObjectsV2: <IsTruncated> is \"" + v.substr(0, 64) + "\"");
      }
      page.truncated = v == "true";
    } else if (IsElement(c, "NextContinuationToken")) {
      page.next_token = Text(c);
    } else if (IsElement(c, "EncodingType")) {
      url_encoded = Text(c) == "url";
    }
  }
  if (page.truncated && page.next_token.empty()) {
    return DataLoss("ListObjectsV2: truncated without a <NextContinuationToken>");
  }
  if (url_encoded) {
    for (ObjectEntry& e : page.entries) {
      ASSIGN_OR_RETURN(e.key, UrlDecode(std::move(e.key)));
    }
  }
  return page;
}

std::optional<S3Error> ParseError(std::string_view xml) {
  Result<XmlDoc> doc = ParseXml(xml);
  if (!doc.ok()) return std::nullopt;
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  if (!IsElement(root, "Error")) return std::nullopt;
  S3Error out;
  for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (IsElement(c, "Code")) {
      out.code = Text(c);
    } else if (IsElement(c, "Message")) {
      out.message = Text(c);
    }
  }
  if (out.code.empty()) return std::nullopt;
  return out;
}

}  // namespace streamarc::objectstore
