#include "mesoflow/runtime/database_worker.hpp"

#include <pthread.h>

namespace mesoflow::runtime {

DatabaseWorker::DatabaseWorker(Poster post_to_loop, std::string name)
    : post_(std::move(post_to_loop)), name_(std::move(name)), thread_([this] { run(); }) {}

DatabaseWorker::~DatabaseWorker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

std::size_t DatabaseWorker::in_flight() const {
    std::lock_guard lock(mutex_);
    return queue_.size() + running_;
}

void DatabaseWorker::enqueue(Task job) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void DatabaseWorker::run() {
    pthread_setname_np(pthread_self(), name_.c_str());
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty())
            return;  // stopping and drained
        Task job = std::move(queue_.front());
        queue_.pop_front();
        ++running_;
        lock.unlock();
        job();
        lock.lock();
        --running_;
    }
}

}  // namespace mesoflow::runtime
