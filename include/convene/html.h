// convene/html.h: the one HTML escaper, by context (as Go's html/template does it).
//
// Every value that reaches a page goes through exactly one of these, chosen by where it
// lands:
//   - element text, between tags:              html::text(title)
//   - a double-quoted attribute value:         <p title="<html::attribute(x)>">
//   - a link in href or src:                   <a href="<html::url_attribute(url)>">
//   - one query value inside a link you build: "?url=" + html::query_component(feed)
//     (then the whole link through url_attribute).
// text() and attribute() escape & < > " ' and always give valid UTF-8: a byte that is not
// UTF-8, NUL and the other control characters (but TAB, LF and CR) become U+FFFD, so a
// page never carries what a browser would repair in its own way.
//
// url_attribute() writes only links that are safe to follow: http:, https:, mailto: and
// webcal: links, and relative references ("./feeds/all.ics", "/x", "#top", "?q=1"). Any
// other scheme (javascript:, data:, vbscript:, file:, ...), and any link holding a
// control character or whitespace (browsers drop those, so "java\tscript:" is
// "javascript:"), becomes kUnsafeUrl instead: the link goes nowhere, visibly.
//
// How to use:
//   out << "<li><a href=\"" << convene::html::url_attribute(url) << "\">"
//       << convene::html::text(title) << "</a></li>";
#pragma once

#include <string>
#include <string_view>

namespace convene::html {

// What url_attribute() writes in place of a link that is not safe (as Go's "#ZgotmplZ").
inline constexpr std::string_view kUnsafeUrl = "about:invalid#convene-unsafe-url";

// Element text: & < > " ' as &amp; &lt; &gt; &quot; &#39;; invalid UTF-8 and control
// characters (but TAB, LF, CR) as U+FFFD.
std::string text(std::string_view value);
// A double-quoted attribute value: the same escaping as text().
std::string attribute(std::string_view value);

// Whether `url` may be followed from a page: see the header comment.
bool is_safe_url(std::string_view url);
// attribute(url) when is_safe_url(url), else kUnsafeUrl.
std::string url_attribute(std::string_view url);

// Percent-encodes every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~),
// for one value in a query string: "webcal://h/x.ics" → "webcal%3A%2F%2Fh%2Fx.ics".
std::string query_component(std::string_view value);

}  // namespace convene::html
