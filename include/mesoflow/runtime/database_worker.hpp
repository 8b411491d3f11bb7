// DatabaseWorker: a thread that runs blocking store calls, one job at a time
// (the runtime has "db" for claims and the rest, and one "db-updates-N" per
// update lane for placements and status updates).
// libpq calls block; keeping them off the event-loop thread keeps heartbeats,
// offers and acknowledgements flowing while a batch commits. Jobs run in the
// order they were submitted; each job's completion is handed back to the event
// loop through `post_to_loop`, so the loop never touches the store directly.
// The destructor finishes every queued job, then joins the thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace mesoflow::runtime {

class DatabaseWorker {
  public:
    using Task = std::function<void()>;
    using Poster = std::function<void(Task)>;

    // `name` is the thread's name as ps and perf show it (at most 15 characters).
    explicit DatabaseWorker(Poster post_to_loop, std::string name = "db");
    ~DatabaseWorker();
    DatabaseWorker(const DatabaseWorker&) = delete;
    DatabaseWorker& operator=(const DatabaseWorker&) = delete;

    // Runs `work` on the database thread, then `done(result)` on the loop.
    template <typename Work, typename Done>
    void submit(Work work, Done done) {
        enqueue([this, work = std::move(work), done = std::move(done)]() mutable {
            auto result = std::make_shared<decltype(work())>(work());
            post_([done = std::move(done), result]() mutable { done(std::move(*result)); });
        });
    }

    // Jobs queued or running; the runtime uses it to decide when a batch may start.
    std::size_t in_flight() const;

  private:
    void enqueue(Task job);
    void run();

    Poster post_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Task> queue_;
    std::size_t running_ = 0;
    bool stopping_ = false;
    std::string name_;
    std::thread thread_;
};

}  // namespace mesoflow::runtime
