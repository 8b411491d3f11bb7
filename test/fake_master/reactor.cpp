#include "reactor.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <queue>
#include <unordered_set>
#include <vector>

namespace mesoflow::fake {

namespace asio = boost::asio;

namespace {

struct TimerEntry {
    Clock::time_point when;
    Reactor::TimerId id;
    std::function<void()> fn;
};

// Earliest first; equal times in the order they were scheduled.
struct Later {
    bool operator()(const TimerEntry& a, const TimerEntry& b) const {
        if (a.when != b.when)
            return a.when > b.when;
        return a.id > b.id;
    }
};

// Keeps a descriptor watched without ever closing it: the fd belongs to the
// caller of when_readable.
struct BorrowedDescriptor {
    explicit BorrowedDescriptor(asio::io_context& io, int fd) : descriptor(io, fd) {}
    ~BorrowedDescriptor() {
        boost::system::error_code ignored;
        descriptor.cancel(ignored);
        descriptor.release();
    }
    asio::posix::stream_descriptor descriptor;
};

}  // namespace

struct Reactor::Impl {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    asio::steady_timer timer{io};
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, Later> heap;
    std::unordered_set<TimerId> live;  // scheduled, not yet run or cancelled
    TimerId next_id = 1;
    Clock::time_point armed_for = Clock::time_point::max();
};

Reactor::Reactor() : impl_(std::make_unique<Impl>()) {}

Reactor::~Reactor() {
    stop();
}

asio::io_context& Reactor::io() {
    return impl_->io;
}

void Reactor::start() {
    if (running_)
        return;
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready] {
        loop_thread_id_ = std::this_thread::get_id();
        ready.set_value();
        impl_->io.run();
    });
    started.wait();
    running_ = true;
}

void Reactor::stop() {
    if (!running_)
        return;
    impl_->guard.reset();
    impl_->io.stop();
    if (thread_.joinable())
        thread_.join();
    running_ = false;
    loop_thread_id_ = std::thread::id();
}

void Reactor::post(std::function<void()> fn) {
    asio::post(impl_->io, std::move(fn));
}

Reactor::TimerId Reactor::at(Clock::time_point when, std::function<void()> fn) {
    const TimerId id = impl_->next_id++;
    impl_->live.insert(id);
    if (when <= Clock::now()) {
        // Due already: no need to go through the timer (and its syscalls).
        post([this, id, fn = std::move(fn)] {
            if (impl_->live.erase(id) > 0)
                fn();
        });
        return id;
    }
    impl_->heap.push(TimerEntry{when, id, std::move(fn)});
    if (when < impl_->armed_for)
        arm();
    return id;
}

void Reactor::cancel(TimerId id) {
    impl_->live.erase(id);
}

void Reactor::arm() {
    if (impl_->heap.empty()) {
        impl_->armed_for = Clock::time_point::max();
        return;
    }
    impl_->armed_for = impl_->heap.top().when;
    impl_->timer.expires_at(impl_->armed_for);
    impl_->timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec)
            return;  // re-armed (cancelled) or shutting down
        fire();
    });
}

void Reactor::fire() {
    const auto now = Clock::now();
    // Entries scheduled while running are due later or at `now` at the
    // earliest; bounding the batch keeps one burst from starving the sockets.
    constexpr std::size_t kMaxTimersPerBatch = 4096;
    std::size_t ran = 0;
    while (!impl_->heap.empty() && impl_->heap.top().when <= now && ran < kMaxTimersPerBatch) {
        TimerEntry entry = std::move(const_cast<TimerEntry&>(impl_->heap.top()));
        impl_->heap.pop();
        if (impl_->live.erase(entry.id) == 0)
            continue;  // cancelled
        ++ran;
        entry.fn();
    }
    if (ran == kMaxTimersPerBatch) {
        impl_->armed_for = Clock::time_point::min();
        post([this] {
            impl_->armed_for = Clock::time_point::max();
            fire();
        });
        return;
    }
    arm();
}

void Reactor::when_readable(int fd, std::function<void()> fn) {
    auto watched = std::make_shared<BorrowedDescriptor>(impl_->io, fd);
    watched->descriptor.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [watched, fn = std::move(fn)](const boost::system::error_code& ec) {
            if (ec == asio::error::operation_aborted)
                return;
            fn();
        });
}

}  // namespace mesoflow::fake
