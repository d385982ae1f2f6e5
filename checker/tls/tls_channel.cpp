// SPDX-License-Identifier: Apache-2.0
// TLS over an Asio socket through memory BIOs: see tls_channel.hpp.
#include "checker/tls/tls_channel.hpp"

#include "common/enum_names.hpp"

#include <openssl/err.h>

#include <array>
#include <utility>

namespace forcetls::checker {
namespace {

// Our own ex_data slot, so SSL_set_app_data stays free for hooks.
int channel_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TlsIoResult io_failure(const IoResult& io) {
  if (io.timed_out) {
    return TlsIoResult{TlsIoStatus::timeout, "deadline passed", 0};
  }
  switch (peer_end(io.error)) {
    case PeerEnd::eof:
      return TlsIoResult{TlsIoStatus::closed, "connection closed by the peer", 0};
    case PeerEnd::reset:
      return TlsIoResult{TlsIoStatus::closed, "connection reset by the peer", 0};
    case PeerEnd::none:
      break;
  }
  return TlsIoResult{TlsIoStatus::closed, "connection failed: " + io.error.message(), 0};
}

}  // namespace

namespace {
constexpr NameTable<TlsIoStatus, 5> kTlsIoStatusNames{{
    {TlsIoStatus::ok, "ok"},
    {TlsIoStatus::timeout, "timeout"},
    {TlsIoStatus::closed, "closed"},
    {TlsIoStatus::tls_error, "tls_error"},
    {TlsIoStatus::shutdown, "shutdown"},
}};
}  // namespace

std::string_view to_string(TlsIoStatus status) { return name_in(kTlsIoStatusNames, status); }

std::string drain_openssl_errors() {
  std::string out;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    std::string text;
    if (const char* reason = ERR_reason_error_string(e); reason != nullptr) {
      text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      text = buf;
    }
    if (out.find(text) == std::string::npos) {
      out += out.empty() ? "" : "; ";
      out += text;
    }
  }
  return out;
}

TlsChannel::TlsChannel(Socket& socket, SslHandle ssl) : socket_(socket), ssl_(std::move(ssl)) {
  if (!ssl_) {
    return;
  }
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    return;
  }
  // An empty input BIO means "wait for more bytes", never end of file: the
  // socket, not the BIO, tells when the peer has gone.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_.get(), in_, out_);
  SSL_set_ex_data(ssl_.get(), channel_index(), this);
  SSL_set_info_callback(ssl_.get(), &TlsChannel::info_callback);
}

TlsChannel::~TlsChannel() {
  if (ssl_) {
    SSL_set_info_callback(ssl_.get(), nullptr);
    SSL_set_ex_data(ssl_.get(), channel_index(), nullptr);
  }
}

void TlsChannel::info_callback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) {
    return;
  }
  auto* self = static_cast<TlsChannel*>(SSL_get_ex_data(ssl, channel_index()));
  if (self == nullptr) {
    return;
  }
  std::string text =
      std::string(SSL_alert_type_string_long(ret)) + " " + SSL_alert_desc_string_long(ret);
  std::string& slot = (where & SSL_CB_READ) != 0 ? self->alert_received_ : self->alert_sent_;
  // Keep the first alert, but let a fatal one replace an earlier warning.
  if (slot.empty() || (slot.starts_with("warning") && text.starts_with("fatal"))) {
    slot = std::move(text);
  }
}

std::string TlsChannel::state() const {
  return ssl_ ? SSL_state_string_long(ssl_.get()) : std::string();
}

asio::awaitable<IoResult> TlsChannel::flush(Deadline deadline) {
  IoResult total;
  std::vector<std::uint8_t> data;
  while (BIO_ctrl_pending(out_) > 0) {
    data.resize(BIO_ctrl_pending(out_));
    int n = BIO_read(out_, data.data(), static_cast<int>(data.size()));
    if (n <= 0) {
      break;
    }
    IoResult io = co_await write_all_before(
        socket_, std::span<const std::uint8_t>(data.data(), static_cast<std::size_t>(n)), deadline);
    if (!io.ok()) {
      co_return io;
    }
    total.bytes += io.bytes;
  }
  co_return total;
}

asio::awaitable<TlsIoResult> TlsChannel::drive(std::function<int(SSL*)> op, Deadline deadline) {
  if (in_ == nullptr) {
    co_return TlsIoResult{TlsIoStatus::tls_error, "no TLS state (out of memory)", 0};
  }
  wire_.resize(16384);
  for (;;) {
    // The error queue is per thread and other coroutines share the thread:
    // clear it before the call and read it before the next co_await.
    ERR_clear_error();
    int r = op(ssl_.get());
    int err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), r);
    std::string errors;
    if (err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL) {
      errors = drain_openssl_errors();
    }
    ERR_clear_error();
    // Whatever OpenSSL produced goes out first, also after a failure: the
    // peer deserves our alert.
    IoResult sent = co_await flush(deadline);
    switch (err) {
      case SSL_ERROR_NONE:
        if (!sent.ok()) {
          co_return io_failure(sent);
        }
        co_return TlsIoResult{TlsIoStatus::ok, "", static_cast<std::size_t>(r)};
      case SSL_ERROR_WANT_READ: {
        if (!sent.ok()) {
          co_return io_failure(sent);
        }
        IoResult got = co_await read_some_before(socket_, wire_, deadline);
        if (!got.ok()) {
          co_return io_failure(got);
        }
        BIO_write(in_, wire_.data(), static_cast<int>(got.bytes));
        continue;
      }
      case SSL_ERROR_WANT_WRITE:
        // A memory BIO accepts everything; flushed above. Only loop when that
        // made progress, or this would spin.
        if (!sent.ok()) {
          co_return io_failure(sent);
        }
        if (sent.bytes > 0) {
          continue;
        }
        co_return TlsIoResult{TlsIoStatus::tls_error, "TLS engine stalled on write", 0};
      case SSL_ERROR_ZERO_RETURN:
        co_return TlsIoResult{TlsIoStatus::shutdown, "close_notify received", 0};
      default: {
        std::string detail;
        if (!alert_received_.empty()) {
          detail = "alert received: " + alert_received_;
        } else if (!alert_sent_.empty()) {
          detail = "alert sent: " + alert_sent_;
        }
        if (!errors.empty()) {
          detail += detail.empty() ? "" : " (";
          detail += errors;
          detail += (detail.starts_with("alert") ? ")" : "");
        }
        if (detail.empty()) {
          detail = "TLS failure (SSL error " + std::to_string(err) + ")";
        }
        co_return TlsIoResult{TlsIoStatus::tls_error, std::move(detail), 0};
      }
    }
  }
}

asio::awaitable<TlsIoResult> TlsChannel::handshake(Deadline deadline) {
  co_return co_await drive([](SSL* s) { return SSL_do_handshake(s); }, deadline);
}

asio::awaitable<TlsIoResult> TlsChannel::write(std::span<const std::uint8_t> data,
                                               Deadline deadline) {
  if (data.empty()) {
    co_return TlsIoResult{};
  }
  co_return co_await drive(
      [data](SSL* s) { return SSL_write(s, data.data(), static_cast<int>(data.size())); },
      deadline);
}

asio::awaitable<TlsIoResult> TlsChannel::read_some(std::vector<std::uint8_t>& out,
                                                   Deadline deadline) {
  std::array<std::uint8_t, 16384> plain{};
  TlsIoResult r = co_await drive(
      [&plain](SSL* s) { return SSL_read(s, plain.data(), static_cast<int>(plain.size())); },
      deadline);
  if (r.ok()) {
    out.insert(out.end(), plain.begin(), plain.begin() + static_cast<long>(r.bytes));
  }
  co_return r;
}

asio::awaitable<TlsIoResult> TlsChannel::shutdown(Deadline deadline) {
  if (in_ == nullptr) {
    co_return TlsIoResult{TlsIoStatus::tls_error, "no TLS state", 0};
  }
  ERR_clear_error();
  // 0 = our close_notify is queued; the peer's is not awaited (RFC 8446 §6.1
  // lets the initiator close without waiting).
  int r = SSL_shutdown(ssl_.get());
  ERR_clear_error();
  IoResult sent = co_await flush(deadline);
  if (!sent.ok()) {
    co_return io_failure(sent);
  }
  if (r < 0) {
    co_return TlsIoResult{TlsIoStatus::tls_error, "SSL_shutdown failed", 0};
  }
  co_return TlsIoResult{};
}

}  // namespace forcetls::checker
