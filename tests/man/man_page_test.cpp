// SPDX-License-Identifier: Apache-2.0
// forcetls.yaml(5) documents exactly the keys the loaders accept: every key
// of conf::config_keys() and conf::policy_keys() has a heading in the
// CONFIGURATION KEYS or POLICY KEYS section, every heading names a key (or
// a group of keys) the loader accepts, and every heading's paragraph states
// a default or an example. And every option a program's --help lists is in
// that program's page.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "conf/loader.hpp"

namespace {

const std::string kPage = std::string(FORCETLS_SOURCE_DIR) + "/man/forcetls.yaml.5";

/// One `.TP` entry of a KEYS section: the bold names of its heading line and
/// the text up to the next entry.
struct Entry {
  std::vector<std::string> names;
  std::string body;
};

/// `\-` -> `-`, `\&` dropped; other escapes are kept as written.
std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '-' || s[i + 1] == '&')) {
      if (s[i + 1] == '-') {
        out += '-';
      }
      ++i;
      continue;
    }
    out += s[i];
  }
  return out;
}

/// The arguments of a roff request line, with "quoted" arguments.
std::vector<std::string> roff_args(const std::string& line) {
  std::vector<std::string> args;
  std::size_t i = line.find(' ');
  while (i != std::string::npos && i < line.size()) {
    while (i < line.size() && line[i] == ' ') {
      ++i;
    }
    if (i >= line.size()) {
      break;
    }
    std::string arg;
    if (line[i] == '"') {
      std::size_t end = line.find('"', i + 1);
      arg = line.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1);
      i = end == std::string::npos ? end : end + 1;
    } else {
      std::size_t end = line.find(' ', i);
      arg = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end;
    }
    args.push_back(unescape(arg));
  }
  return args;
}

/// The bold names of a heading line: `.B name` or `.BR a ", " b` (bold,
/// roman, bold, ...).
std::vector<std::string> heading_names(const std::string& line) {
  std::vector<std::string> args = roff_args(line);
  std::vector<std::string> names;
  if (line.starts_with(".B ")) {
    names = args;
  } else if (line.starts_with(".BR ")) {
    for (std::size_t i = 0; i < args.size(); i += 2) {
      names.push_back(args[i]);
    }
  }
  return names;
}

/// The `.TP` entries of the two KEYS sections of the page.
std::vector<Entry> key_entries(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<Entry> entries;
  bool in_keys = false;
  bool heading_next = false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(".SH ")) {
      in_keys = line == ".SH CONFIGURATION KEYS" || line == ".SH POLICY KEYS";
      heading_next = false;
      continue;
    }
    if (!in_keys) {
      continue;
    }
    if (line == ".TP") {
      heading_next = true;
      continue;
    }
    if (line == ".PP") {
      // A paragraph between entries belongs to none of them.
      entries.push_back(Entry{});
      continue;
    }
    if (heading_next) {
      entries.push_back(Entry{heading_names(line), ""});
      heading_next = false;
      continue;
    }
    if (!entries.empty()) {
      entries.back().body += line + "\n";
    }
  }
  std::erase_if(entries, [](const Entry& e) { return e.names.empty(); });
  return entries;
}

std::vector<std::string> accepted_keys() {
  std::vector<std::string> keys = forcetls::conf::config_keys();
  std::vector<std::string> policy = forcetls::conf::policy_keys();
  keys.insert(keys.end(), policy.begin(), policy.end());
  return keys;
}

bool documented(const std::vector<Entry>& entries, const std::string& key) {
  return std::any_of(entries.begin(), entries.end(), [&](const Entry& e) {
    return std::find(e.names.begin(), e.names.end(), key) != e.names.end();
  });
}

}  // namespace

TEST_CASE("man: the page has key entries at all", "[man]") {
  std::vector<Entry> entries = key_entries(kPage);
  // Without this a parser that finds nothing would pass the reverse check.
  CHECK(entries.size() >= accepted_keys().size() / 2);
}

TEST_CASE("man: every key the loaders accept is in forcetls.yaml(5)", "[man]") {
  const std::vector<Entry> entries = key_entries(kPage);
  const std::string key = GENERATE(from_range(accepted_keys()));
  INFO("key " << key << " has no .TP heading in man/forcetls.yaml.5");
  CHECK(documented(entries, key));
}

TEST_CASE("man: every key forcetls.yaml(5) documents is accepted", "[man]") {
  const std::vector<std::string> keys = accepted_keys();
  for (const Entry& e : key_entries(kPage)) {
    for (const std::string& name : e.names) {
      // A group heading (default.on_unknown) names the prefix of accepted keys.
      const bool known = std::any_of(keys.begin(), keys.end(), [&](const std::string& k) {
        return k == name || k.starts_with(name + ".");
      });
      INFO("documented but not accepted by the loader: " << name);
      CHECK(known);
    }
  }
}

TEST_CASE("man: every key entry states a default or an example", "[man]") {
  for (const Entry& e : key_entries(kPage)) {
    INFO("entry " << e.names.front());
    const bool stated = e.body.find("Default:") != std::string::npos ||
                        e.body.find("Example:") != std::string::npos ||
                        e.body.find("sets all four") != std::string::npos;
    CHECK(stated);
  }
}

TEST_CASE("man: heading parser reads .B and .BR lines", "[man]") {
  struct Case {
    std::string line;
    std::vector<std::string> want;
  };
  const Case c = GENERATE(values<Case>({
      {".B milter.socket", {"milter.socket"}},
      {".BR default.mode \", \" rules[].mode", {"default.mode", "rules[].mode"}},
      {".B checker.allow\\-private", {"checker.allow-private"}},
      {".I duration", {}},
  }));
  INFO(c.line);
  CHECK(heading_names(c.line) == c.want);
}

namespace {

/// The standard output of `program --help`; the test fails unless it exits 0.
std::string help_of(const std::string& program) {
  FILE* pipe = popen((program + " --help 2>/dev/null").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) {
    out.append(buf, n);
  }
  int status = pclose(pipe);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return out;
}

bool option_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/// Options named in a usage text: "-c", "--json", ... where a word starts
/// with '-' after a space, '[', '|' or ','.
std::vector<std::string> options_in(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool starts = text[i] == '-' && (i == 0 || std::string_view(" [|,\n").find(text[i - 1]) !=
                                                         std::string_view::npos);
    if (!starts) {
      continue;
    }
    std::size_t end = i + 1;
    while (end < text.size() && option_char(text[end])) {
      ++end;
    }
    std::string option = text.substr(i, end - i);
    if (option.size() >= 2 && option != "--" &&
        std::find(out.begin(), out.end(), option) == out.end()) {
      out.push_back(option);
    }
    i = end;
  }
  return out;
}

/// Whether the page (unescaped) names `option` as a word of its own.
bool page_names(const std::string& page, const std::string& option) {
  for (std::size_t at = page.find(option); at != std::string::npos;
       at = page.find(option, at + 1)) {
    const std::size_t end = at + option.size();
    const bool before = at == 0 || !option_char(page[at - 1]);
    const bool after = end >= page.size() || !option_char(page[end]);
    if (before && after) {
      return true;
    }
  }
  return false;
}

/// Page text with `\-` and `\&` unescaped and font escapes (\fB, \fR, ...)
/// dropped, so inline-bold options read as words.
std::string plain(const std::string& roff) {
  std::string text = unescape(roff);
  for (std::size_t at = text.find("\\f"); at != std::string::npos; at = text.find("\\f", at)) {
    text.erase(at, std::min<std::size_t>(3, text.size() - at));
  }
  return text;
}

std::string read_page(const std::string& name) {
  std::ifstream in(std::string(FORCETLS_SOURCE_DIR) + "/man/" + name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return plain(text.str());
}

}  // namespace

TEST_CASE("man: the usage parser finds short and long options", "[man]") {
  CHECK(options_in("usage: p [-c FILE] [-f]\n  --json  x\n  --help, --version\n  a-b --\n") ==
        std::vector<std::string>{"-c", "-f", "--json", "--help", "--version"});
  CHECK(page_names(plain("see \\fB\\-\\-json\\fR."), "--json"));
  CHECK_FALSE(page_names("--jsonl", "--json"));
}

TEST_CASE("man: every option of a program's --help is in its page", "[man]") {
  struct Program {
    std::string path;
    std::string page;
  };
  const Program p = GENERATE(values<Program>({
      {FORCETLS_CHECK_PATH, "forcetls-check.1"},
      {FORCETLS_CTL_PATH, "forcetls-ctl.8"},
      {FORCETLS_MILTER_PATH, "forcetls-milter.8"},
  }));
  const std::string page = read_page(p.page);
  const std::vector<std::string> options = options_in(help_of(p.path));
  INFO(p.page);
  // Every program answers --help and --version.
  CHECK(std::find(options.begin(), options.end(), "--help") != options.end());
  CHECK(std::find(options.begin(), options.end(), "--version") != options.end());
  for (const std::string& option : options) {
    INFO("--help lists " << option << " but man/" << p.page << " does not");
    CHECK(page_names(page, option));
  }
}
