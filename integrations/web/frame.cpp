// The frame every page shares (its style, script and Content-Security-Policy), the
// components pages are built of, site paths and CSRF tokens.
#include <sodium.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "internal.h"

namespace convene::web::internal {

namespace {

// Phone first: one column, tap targets of at least 44 px, text that can grow; colours of
// at least 4.5:1 contrast (WCAG 2.1 AA) and never the only sign of a status.
constexpr std::string_view kStyle = R"css(
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:1.0625rem;line-height:1.5;color:#1b1b1b;background:#fff}
a{color:#0a4fbf}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible,[tabindex]:focus-visible{outline:3px solid #0a4fbf;outline-offset:2px}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:9}
.skip:focus{left:.5rem}
header.site{border-bottom:1px solid #c9c9c9;background:#f5f7fa}
header.site .bar{max-width:62rem;margin:0 auto;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
header.site .name{font-weight:700;font-size:1.15rem;color:#1b1b1b;text-decoration:none;margin-right:auto;padding:.5rem 0}
header.site nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem}
header.site nav a{display:inline-block;padding:.6rem .75rem;min-height:44px}
header.site nav a[aria-current]{font-weight:700}
header.site form{margin:0}
main{max-width:62rem;margin:0 auto;padding:1rem 1rem 3rem}
h1{font-size:1.75rem;line-height:1.25;margin:1rem 0 .5rem}
h2{font-size:1.35rem;margin:2rem 0 .5rem}
h3{font-size:1.125rem;margin:1.25rem 0 .25rem}
p.lead{font-size:1.125rem;margin-top:0}
.meta{color:#4a4a4a}
ul.sessions{list-style:none;margin:0;padding:0}
ul.sessions li{border-top:1px solid #dcdcdc;padding:.75rem 0}
ul.sessions .when{font-weight:600}
ul.sessions .title{display:block;font-size:1.1rem}
.status{display:inline-block;font-size:.9rem;font-weight:700;padding:.05rem .5rem;border-radius:.25rem;border:1px solid currentColor;margin-right:.35rem}
.status.moved{background:#fff4ce;color:#5c3b00}
.status.cancelled{background:#fde7e9;color:#8a1c1c}
.status.skipped{background:#eeeeee;color:#3d3d3d}
.why{color:#3d3d3d}
.buttons{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0}
.button,button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;padding:.55rem 1rem;border:2px solid #0a4fbf;border-radius:.5rem;background:#fff;color:#0a3b8f;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.button.primary,button.primary{background:#0a4fbf;color:#fff}
button.danger{border-color:#a61b1b;color:#a61b1b}
.subscribe{border:1px solid #c9c9c9;border-radius:.75rem;padding:1rem;margin:1rem 0;background:#fbfcfe}
.subscribe h2,.subscribe h3{margin-top:0}
.subscribe .copy{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.subscribe .copy input{flex:1 1 16rem}
.qr{width:11rem;height:11rem;display:block;margin:.5rem 0}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
label.inline{display:inline;font-weight:400;margin:0 0 0 .35rem}
input[type=text],input[type=email],input[type=password],input[type=search],input[type=date],input[type=time],input[type=url],select,textarea{font:inherit;font-size:1rem;min-height:44px;padding:.45rem .6rem;border:1px solid #6b6b6b;border-radius:.375rem;width:100%;max-width:32rem;background:#fff;color:#1b1b1b}
textarea{min-height:6rem}
input[type=checkbox],input[type=radio]{width:1.25rem;height:1.25rem;vertical-align:middle}
fieldset{border:1px solid #c9c9c9;border-radius:.5rem;margin:1rem 0;padding:.5rem 1rem 1rem}
legend{font-weight:700;padding:0 .25rem}
.choice{display:flex;align-items:center;min-height:44px}
.choice.sub{padding-left:1.75rem}
.notice{border-left:.35rem solid #0a4fbf;background:#eef4fd;padding:.75rem 1rem;margin:1rem 0}
.notice.error{border-color:#a61b1b;background:#fdeeee}
.notice.ok{border-color:#1d6b2f;background:#eaf6ec}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #dcdcdc;vertical-align:top}
mark{background:#ffe28a;color:#1b1b1b}
.hits li p{margin:.25rem 0}
.pager{display:flex;gap:1rem;margin:1.5rem 0}
.yours{color:#4a4a4a;font-weight:400}
footer{max-width:62rem;margin:0 auto;padding:1rem;color:#4a4a4a;border-top:1px solid #dcdcdc}
.grid{display:grid;gap:1rem}
@media (max-width:47.99rem){table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}table.cards tr{display:block;border-bottom:1px solid #dcdcdc;padding:.5rem 0}table.cards td{display:block;border:0;padding:.15rem 0}table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:600}}
@media (min-width:48rem){.subscribe .body{display:grid;grid-template-columns:1fr 12rem;gap:1rem;align-items:start}.grid.two{grid-template-columns:1fr 1fr}}
)css";

// Progressive enhancement only: a copy button, and each time also in the viewer's zone.
constexpr std::string_view kScript = R"js(
(function(){
  document.querySelectorAll('button[data-copy]').forEach(function(b){
    b.hidden=false;
    b.addEventListener('click',function(){
      var input=document.getElementById(b.getAttribute('data-copy'));
      var done=function(){b.textContent='Copied';};
      input.select();
      if(navigator.clipboard){navigator.clipboard.writeText(input.value).then(done,function(){document.execCommand('copy');done();});}
      else{document.execCommand('copy');done();}
    });
  });
  var zone;
  try{zone=Intl.DateTimeFormat().resolvedOptions().timeZone;}catch(e){}
  if(!zone)return;
  document.querySelectorAll('time[data-zone]').forEach(function(t){
    if(t.getAttribute('data-zone')===zone)return;
    var f=new Intl.DateTimeFormat('en-US',{weekday:'short',hour:'numeric',minute:'2-digit',timeZoneName:'short'});
    var s=document.createElement('span');
    s.className='yours';
    s.textContent=' ('+f.format(new Date(t.getAttribute('datetime')))+' your time)';
    t.insertAdjacentElement('afterend',s);
  });
})();
)js";

std::string sha256_base64(std::string_view text) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char out[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
  return out;
}

void sodium_ready() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  });
}

std::string nav_item(std::string_view href, std::string_view label, bool current) {
  return "<li><a href=\"" + U(href) + "\"" + (current ? " aria-current=\"page\"" : "") + ">" + T(label) + "</a></li>";
}

}  // namespace

const std::string& content_security_policy() {
  static const std::string policy = [] {
    sodium_ready();
    return "default-src 'none'; style-src 'sha256-" + sha256_base64(kStyle) + "'; script-src 'sha256-" +
           sha256_base64(kScript) + "'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
  }();
  return policy;
}

std::string page(const Frame& f) {
  std::string out;
  out.reserve(f.main.size() + kStyle.size() + kScript.size() + 2048);
  out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  out += T(f.title);
  out += "</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to the content</a>\n"
         "<header class=\"site\"><div class=\"bar\"><a class=\"name\" href=\"/\">Communities of Practice</a>"
         "<nav aria-label=\"Site\"><ul>";
  out += nav_item("/", "Communities", f.section == "home");
  out += nav_item("/archive", "Past sessions", f.section == "archive");
  if (f.signed_in) {
    out += nav_item("/workspace", "Workspace", f.section == "workspace");
  } else {
    out += nav_item("/signin", "Facilitators", f.section == "workspace");
  }
  out += "</ul></nav>";
  if (f.signed_in) {
    out += "<form method=\"post\" action=\"/workspace/signout\">" + csrf_field(f.signout_csrf) +
           "<button type=\"submit\">Sign out " + T(*f.signed_in) + "</button></form>";
  }
  out += "</div></header>\n<main id=\"main\">\n";
  out += f.main;
  out += "\n</main>\n<footer><p>Times are shown in each community's own time zone. "
         "Calendars stay up to date by themselves once subscribed.</p></footer>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

std::string page(std::string title, std::string main, std::string section) {
  Frame f;
  f.title = std::move(title);
  f.main = std::move(main);
  f.section = std::move(section);
  return page(f);
}

// --- links ----------------------------------------------------------------------------------

std::string segment(std::string_view id) {
  // html::query_component's encoding, with ':' and '@' (allowed in a segment) kept readable.
  const std::string encoded = html::query_component(id);
  std::string out;
  out.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const std::string_view rest = std::string_view(encoded).substr(i, 3);
    if (rest == "%3A" || rest == "%40") {
      out += rest == "%3A" ? ':' : '@';
      i += 2;
    } else {
      out += encoded[i];
    }
  }
  return out;
}

std::string community_path(std::string_view id) { return "/communities/" + segment(id); }
std::string series_path(std::string_view id) { return "/series/" + segment(id); }
std::string session_path(std::string_view series, LocalTime original) {
  return "/sessions/" + segment(series) + "/" + segment(format_local_minute(original));
}
std::string workspace_session_path(std::string_view series, LocalTime original) {
  return "/workspace" + session_path(series, original);
}

// --- components ------------------------------------------------------------------------------

namespace {
// The wall-clock start as it takes place (a start in a DST gap shows as the time it
// resolves to), or, for a session that does not take place, its original start.
LocalTime shown_start(const Occurrence& o) { return o.start ? to_local(*o.start, o.community->zone) : o.original; }
}  // namespace

std::string session_day(const Occurrence& o) {
  const LocalDay day = date::floor<date::days>(shown_start(o));
  return format_day_long(day) + " " + std::to_string(static_cast<int>(date::year_month_day{day}.year()));
}

std::string session_time(const Occurrence& o) {
  const LocalTime start = shown_start(o);
  LocalTime end;
  if (o.start && o.end) {
    end = to_local(*o.end, o.community->zone);
  } else {
    end = start + (o.override_def && o.override_def->duration ? *o.override_def->duration : o.series->duration);
  }
  return time_range(start, end) + " " + zone_abbreviation(o.community->zone);
}

std::string when_html(const Occurrence& o, const date::time_zone* viewer) {
  const Instant at = o.start ? *o.start : resolve_local(o.original, o.community->zone);
  std::string text = session_day(o) + ", " + session_time(o);
  const date::time_zone* zone = o.community->zone;
  if (viewer && viewer != o.community->zone) {
    const LocalTime start = to_local(at, viewer);
    const Instant end = o.end ? *o.end : at + (o.override_def && o.override_def->duration ? *o.override_def->duration : o.series->duration);
    const LocalDay day = date::floor<date::days>(start);
    text = format_day_long(day) + " " + std::to_string(static_cast<int>(date::year_month_day{day}.year())) + ", " +
           time_range(start, to_local(end, viewer)) + " " + zone_abbreviation(viewer) + " (" + session_time(o) + ")";
    zone = viewer;
  }
  return "<time datetime=\"" + A(date::format("%Y-%m-%dT%H:%M:%SZ", at)) + "\" data-zone=\"" +
         A(std::string(zone->name())) + "\">" + T(text) + "</time>";
}

std::string status_html(const Occurrence& o) {
  const std::string why = why_words(o);
  if (why.empty()) return {};
  const char* kind = o.status == OccurrenceStatus::cancelled ? "cancelled"
                     : o.status == OccurrenceStatus::skipped ? "skipped"
                                                             : "moved";
  const char* label = o.status == OccurrenceStatus::cancelled ? "Cancelled"
                      : o.status == OccurrenceStatus::skipped ? "No session"
                                                              : "Moved";
  return "<span class=\"status " + std::string(kind) + "\">" + label + "</span><span class=\"why\">" + T(why) +
         "</span>";
}

std::string session_item(const Occurrence& o, bool workspace, const date::time_zone* viewer) {
  const std::string href = workspace ? workspace_session_path(o.series->id, o.original)
                                     : session_path(o.series->id, o.original);
  std::string out = "<li><span class=\"when\">" + when_html(o, viewer) + "</span> <a class=\"title\" href=\"" + U(href) +
                    "\">" + T(o.title()) + "</a>";
  if (const std::string s = status_html(o); !s.empty()) out += "<div>" + s + "</div>";
  return out + "</li>";
}

std::string subscribe_html(std::string_view feed_url, std::string_view name, std::string_view id) {
  const SubscribeLinks l = subscribe_links(feed_url, name);
  const std::string input = "feed-" + std::string(id);
  std::string out = "<section class=\"subscribe\" aria-labelledby=\"sub-" + A(id) + "\"><h2 id=\"sub-" + A(id) +
                    "\">Add " + T(name) + " to your calendar</h2>";
  out += "<p>A subscription keeps your calendar in step with every change by itself, when your calendar app next "
         "checks (Google Calendar can take up to a day); an invitation from the facilitators lands in your inbox "
         "and updates at once. Choose one of the two, not both.</p><div class=\"body\"><div>";
  out += "<div class=\"buttons\">";
  out += "<a class=\"button primary\" href=\"" + U(l.google) + "\">Google Calendar</a>";
  out += "<a class=\"button\" href=\"" + U(l.outlook_365) + "\">Outlook (work or school, Microsoft 365)</a>";
  out += "<a class=\"button\" href=\"" + U(l.outlook_com) + "\">Outlook.com (personal)</a>";
  out += "<a class=\"button\" href=\"" + U(l.apple) + "\">Apple Calendar (iPhone, iPad, Mac)</a>";
  out += "</div><label for=\"" + A(input) + "\">Other calendar apps: copy this link</label><div class=\"copy\">"
         "<input type=\"text\" id=\"" + A(input) + "\" readonly value=\"" + A(l.url) + "\">"
         "<button type=\"button\" data-copy=\"" + A(input) + "\" hidden>Copy link</button></div></div>";
  out += "<figure>" + qr_svg(l.apple, "QR code to subscribe to " + std::string(name) + " on a phone") +
         "<figcaption>On a phone: scan with the camera.</figcaption></figure></div></section>";
  return out;
}

std::string csrf_field(std::string_view token) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + A(token) + "\">";
}

std::string notice_html(std::string_view kind, std::string_view heading, std::string_view text) {
  std::string out = "<div class=\"notice " + A(kind) + "\" role=\"" + (kind == "error" ? "alert" : "status") + "\">";
  if (!heading.empty()) out += "<p><strong>" + T(heading) + "</strong></p>";
  if (!text.empty()) out += "<p>" + T(text) + "</p>";
  return out + "</div>";
}

std::string table_html(std::string_view label, const std::vector<Column>& columns,
                       const std::vector<std::vector<std::string>>& rows, bool label_is_id) {
  std::string out = std::string("<div class=\"scroll\" role=\"region\" ") + (label_is_id ? "aria-labelledby" : "aria-label") +
                    "=\"" + A(label) + "\" tabindex=\"0\"><table class=\"cards\" role=\"table\"><thead role=\"rowgroup\"><tr role=\"row\">";
  for (const auto& c : columns) {
    out += "<th scope=\"col\" role=\"columnheader\">" +
           (c.hidden ? "<span class=\"visually-hidden\">" + T(c.heading) + "</span>" : T(c.heading)) + "</th>";
  }
  out += "</tr></thead><tbody role=\"rowgroup\">";
  for (const auto& row : rows) {
    out += "<tr role=\"row\">";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const bool labelled = i < columns.size() && !columns[i].hidden;
      out += labelled ? "<td role=\"cell\" data-label=\"" + A(columns[i].heading) + "\">" : std::string("<td role=\"cell\">");
      out += row[i] + "</td>";
    }
    out += "</tr>";
  }
  return out + "</tbody></table></div>";
}

// --- CSRF ---------------------------------------------------------------------------------------

std::string csrf_token(std::string_view key, std::string_view purpose, std::string_view binding) {
  sodium_ready();
  if (key.size() != crypto_auth_hmacsha256_KEYBYTES) throw std::invalid_argument("a CSRF key of 32 bytes");
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(purpose.data()), purpose.size());
  const unsigned char nul = 0;
  crypto_auth_hmacsha256_update(&state, &nul, 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(binding.data()), binding.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  char out[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

bool csrf_ok(std::string_view key, std::string_view purpose, std::string_view binding, std::string_view token) {
  if (binding.empty()) return false;
  const std::string expected = csrf_token(key, purpose, binding);
  return token.size() == expected.size() && sodium_memcmp(token.data(), expected.data(), expected.size()) == 0;
}

std::string random_secret() {
  sodium_ready();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

}  // namespace convene::web::internal
