// SPDX-License-Identifier: Apache-2.0
// Lab tests' view of the running lab: env file, tables, shell runner.
#include "tests/lab/lab_env.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace forcetls::labtest {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string& field(const std::map<std::string, std::string>& vars, const std::string& key) {
  auto it = vars.find(key);
  if (it == vars.end()) {
    throw std::runtime_error("lab env has no " + key);
  }
  return it->second;
}

Env load_env() {
  const char* dir = std::getenv("FORCETLS_LAB_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error("FORCETLS_LAB_DIR is not set: run lab tests through ctest");
  }
  Env e;
  try {
    e.vars = parse_env(read_file(std::string(dir) + "/env"));
  } catch (const std::runtime_error& err) {
    throw std::runtime_error(std::string("no lab is up in ") + dir + " (" + err.what() +
                             "); start one with tests/lab/lab up " + dir);
  }
  e.dir = field(e.vars, "LAB_DIR");
  e.netns = field(e.vars, "NETNS");
  e.resolver = field(e.vars, "RESOLVER");
  e.resolver_option = field(e.vars, "RESOLVER_OPTION");
  e.auth = field(e.vars, "AUTH");
  e.trust_anchor = field(e.vars, "TRUST_ANCHOR");
  e.ca_file = field(e.vars, "CA_FILE");
  e.send_smtp = field(e.vars, "SEND_SMTP");
  e.send_log = field(e.vars, "SEND_LOG");
  e.mx_log = field(e.vars, "MX_LOG");
  return e;
}

}  // namespace

const std::string& Env::get(const std::string& key) const { return field(vars, key); }

std::map<std::string, std::string> parse_env(std::string_view text) {
  std::map<std::string, std::string> vars;
  for (const auto& line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::runtime_error("bad env line: " + line);
    }
    vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return vars;
}

const Env& env() {
  static const Env e = load_env();
  return e;
}

std::string checker_resolver_yaml() {
  // RESOLVER_OPTION is written as unbound.conf writes it, "name: value",
  // which is YAML's one-key mapping too.
  return "  resolver: \"" + env().resolver + "\"\n  trust_anchor: " + env().trust_anchor +
         "\n  resolver_options:\n    - " + env().resolver_option + "\n";
}

RunResult run(const std::string& shell_command) {
  std::string command = "exec 2>&1; " + shell_command;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return {-1, "popen failed"};
  }
  RunResult result{-1, {}};
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    result.out.append(buf.data(), n);
  }
  int status = ::pclose(pipe);
  if (WIFEXITED(status)) {
    result.status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.status = 128 + WTERMSIG(status);
  }
  return result;
}

std::string shell_quote(std::string_view arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) {
      parts.emplace_back(text.substr(start));
      return parts;
    }
    parts.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::vector<Row> read_table(const std::string& path) {
  std::vector<Row> rows;
  std::vector<std::string> header;
  for (const auto& line : split(read_file(path), '\n')) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    auto fields = split(line, '\t');
    if (header.empty()) {
      header = fields;
      continue;
    }
    if (fields.size() != header.size()) {
      throw std::runtime_error(path + ": row has " + std::to_string(fields.size()) +
                               " fields, header " + std::to_string(header.size()) + ": " + line);
    }
    Row row;
    for (size_t i = 0; i < header.size(); ++i) {
      row[header[i]] = fields[i];
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

const std::vector<Row>& personalities() {
  static const std::vector<Row> rows = read_table(source_path("personalities.tsv"));
  return rows;
}

const std::vector<Row>& servers() {
  static const std::vector<Row> rows = read_table(source_path("servers.tsv"));
  return rows;
}

const Row* personality(std::string_view domain) {
  for (const auto& row : personalities()) {
    if (row.at("domain") == domain) {
      return &row;
    }
  }
  return nullptr;
}

const Row* server_at(std::string_view addr) {
  for (const auto& row : servers()) {
    if (row.at("addr") == addr) {
      return &row;
    }
  }
  return nullptr;
}

std::vector<Mx> mx_of(const Row& personality) {
  std::vector<Mx> out;
  const auto& mx = personality.at("mx");
  if (mx == "-") {
    return out;
  }
  for (const auto& entry : split(mx, ',')) {
    auto colon = entry.find(':');
    if (colon == std::string::npos) {
      throw std::runtime_error("bad mx entry: " + entry);
    }
    out.push_back({std::stoi(entry.substr(0, colon)), entry.substr(colon + 1)});
  }
  return out;
}

std::vector<Host> hosts_of(const Row& personality) {
  std::vector<Host> out;
  const auto& hosts = personality.at("hosts");
  if (hosts == "-") {
    return out;
  }
  for (const auto& entry : split(hosts, ',')) {
    Host host;
    if (auto arrow = entry.find("=>"); arrow != std::string::npos) {
      host.name = entry.substr(0, arrow);
      host.cname = entry.substr(arrow + 2);
    } else if (auto eq = entry.find('='); eq != std::string::npos) {
      host.name = entry.substr(0, eq);
      if (entry.substr(eq + 1) != "-") {
        host.addrs = split(entry.substr(eq + 1), '+');
      }
    } else {
      throw std::runtime_error("bad hosts entry: " + entry);
    }
    out.push_back(std::move(host));
  }
  return out;
}

std::string source_path(std::string_view name) {
  return std::string(FORCETLS_LAB_SOURCE_DIR) + "/" + std::string(name);
}

}  // namespace forcetls::labtest
