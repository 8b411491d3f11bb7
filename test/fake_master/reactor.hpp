// Reactor: the fake master's single event loop (one Asio io_context on one
// thread). Every piece of master state is touched only on this thread, so
// the state needs no locks; other threads (tests, the control endpoint's
// callers) hand work over with post() or call(). Timers are kept in one
// heap behind one Asio timer, so a hundred thousand pending task timers
// cost a heap entry each, not an Asio object each.
// Asio stays out of this header: only http_server.cpp and reactor.cpp see it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>

namespace boost::asio {
class io_context;
}

namespace mesoflow::fake {

using Clock = std::chrono::steady_clock;

class Reactor {
  public:
    using TimerId = std::uint64_t;

    Reactor();
    ~Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    boost::asio::io_context& io();
    // Starts the loop thread. stop() ends it and joins; callbacks still
    // queued are destroyed without running.
    void start();
    void stop();
    bool in_loop() const { return std::this_thread::get_id() == loop_thread_id_; }

    // Thread-safe.
    void post(std::function<void()> fn);

    // Runs `fn` on the loop thread and returns its result; runs it inline when
    // called on the loop thread or after the loop has stopped.
    template <typename F>
    auto call(F&& fn) -> std::invoke_result_t<F> {
        using R = std::invoke_result_t<F>;
        if (in_loop() || !running_)
            return fn();
        auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
        auto result = task->get_future();
        post([task] { (*task)(); });
        return result.get();
    }

    // Loop thread only.
    TimerId at(Clock::time_point when, std::function<void()> fn);
    TimerId after(Clock::duration delay, std::function<void()> fn) {
        return at(Clock::now() + delay, std::move(fn));
    }
    void cancel(TimerId id);
    // Calls `fn` once when `fd` becomes readable. The fd stays the caller's.
    void when_readable(int fd, std::function<void()> fn);

  private:
    struct Impl;
    void arm();
    void fire();

    std::unique_ptr<Impl> impl_;
    std::thread thread_;
    std::thread::id loop_thread_id_;
    std::atomic<bool> running_ = false;
};

}  // namespace mesoflow::fake
