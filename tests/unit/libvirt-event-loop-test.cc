// libvirt's event loop implementation on libuv (server/runtime/libvirt-event-loop.c),
// driven through libvirt's public virEvent* API from threads other than the loop's, as
// libvirt itself does.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

extern "C" {
#include <libvirt/libvirt.h>

#include "server/runtime/libvirt-event-loop.h"
#include "server/runtime/loop.h"
}

namespace {

using namespace std::chrono_literals;

// What callbacks saw, with a condition to wait on instead of sleeping.
struct Record {
    std::mutex lock;
    std::condition_variable changed;
    int fired = 0;
    int last_events = 0;
    int freed = 0;
    std::thread::id fired_on;
    std::thread::id freed_on;

    template <typename Pred> bool WaitFor(Pred pred, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock<std::mutex> guard(lock);
        return changed.wait_for(guard, timeout, [&] { return pred(*this); });
    }
};

void HandleFired(int, int, int events, void *opaque) {
    auto *record = static_cast<Record *>(opaque);
    std::lock_guard<std::mutex> guard(record->lock);
    record->fired++;
    record->last_events = events;
    record->fired_on = std::this_thread::get_id();
    record->changed.notify_all();
}

void TimeoutFired(int, void *opaque) { HandleFired(0, 0, 0, opaque); }

void Freed(void *opaque) {
    auto *record = static_cast<Record *>(opaque);
    std::lock_guard<std::mutex> guard(record->lock);
    record->freed++;
    record->freed_on = std::this_thread::get_id();
    record->changed.notify_all();
}

// One loop for the whole binary: libvirt takes one implementation per process.
class LibvirtEventLoopTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ASSERT_EQ(virInitialize(), 0);
        loop_ = vg_loop_new();
        ASSERT_EQ(vg_libvirt_event_loop_register(loop_), 0);
        thread_ = new std::thread([] { vg_loop_run(loop_); });
        loop_thread_ = thread_->get_id();
    }
    static void TearDownTestSuite() {
        vg_loop_post(loop_, [](void *loop) { vg_loop_stop(static_cast<vg_loop *>(loop)); },
                     loop_);
        thread_->join();
        delete thread_;
        loop_ = vg_loop_free(loop_);
    }

    void SetUp() override { ASSERT_EQ(pipe2(fds_, O_NONBLOCK | O_CLOEXEC), 0); }
    void TearDown() override {
        close(fds_[0]);
        close(fds_[1]);
    }

    static vg_loop *loop_;
    static std::thread *thread_;
    static std::thread::id loop_thread_;
    int fds_[2];
};

vg_loop *LibvirtEventLoopTest::loop_;
std::thread *LibvirtEventLoopTest::thread_;
std::thread::id LibvirtEventLoopTest::loop_thread_;

TEST_F(LibvirtEventLoopTest, SecondRegistrationIsRefused) {
    EXPECT_EQ(vg_libvirt_event_loop_register(loop_), -1);
}

TEST_F(LibvirtEventLoopTest, ReadableHandleFiresOnTheLoopThread) {
    Record record;
    int watch = virEventAddHandle(fds_[0], VIR_EVENT_HANDLE_READABLE, HandleFired, &record,
                                  Freed);
    ASSERT_GT(watch, 0);

    ASSERT_EQ(write(fds_[1], "x", 1), 1);
    ASSERT_TRUE(record.WaitFor([](Record &r) { return r.fired > 0; }));
    EXPECT_TRUE(record.last_events & VIR_EVENT_HANDLE_READABLE);
    EXPECT_EQ(record.fired_on, loop_thread_);

    EXPECT_EQ(virEventRemoveHandle(watch), 0);
    ASSERT_TRUE(record.WaitFor([](Record &r) { return r.freed == 1; }));
    EXPECT_EQ(record.freed_on, loop_thread_);
    EXPECT_EQ(virEventRemoveHandle(watch), -1) << "a removed watch is gone";
}

TEST_F(LibvirtEventLoopTest, UpdatingEventsToNoneSilencesAHandle) {
    Record record;
    int watch = virEventAddHandle(fds_[0], VIR_EVENT_HANDLE_READABLE, HandleFired, &record,
                                  Freed);
    ASSERT_GT(watch, 0);
    virEventUpdateHandle(watch, 0);
    ASSERT_EQ(write(fds_[1], "x", 1), 1);

    // Give the loop a chance to (wrongly) fire by round-tripping a timeout through it.
    Record probe;
    int timer = virEventAddTimeout(0, TimeoutFired, &probe, Freed);
    ASSERT_TRUE(probe.WaitFor([](Record &r) { return r.fired >= 3; }));
    virEventRemoveTimeout(timer);
    {
        std::lock_guard<std::mutex> guard(record.lock);
        EXPECT_EQ(record.fired, 0);
    }

    virEventUpdateHandle(watch, VIR_EVENT_HANDLE_READABLE);
    EXPECT_TRUE(record.WaitFor([](Record &r) { return r.fired > 0; }));
    virEventRemoveHandle(watch);
    ASSERT_TRUE(record.WaitFor([](Record &r) { return r.freed == 1; }));
    ASSERT_TRUE(probe.WaitFor([](Record &r) { return r.freed == 1; }));
}

TEST_F(LibvirtEventLoopTest, TwoWatchesOnOneDescriptorBothFire) {
    // libuv allows one poll handle per fd; libvirt may watch an fd twice.
    Record first, second;
    int a = virEventAddHandle(fds_[0], VIR_EVENT_HANDLE_READABLE, HandleFired, &first, Freed);
    int b = virEventAddHandle(fds_[0], VIR_EVENT_HANDLE_READABLE, HandleFired, &second,
                              Freed);
    ASSERT_GT(a, 0);
    ASSERT_GT(b, 0);
    ASSERT_NE(a, b);

    ASSERT_EQ(write(fds_[1], "x", 1), 1);
    EXPECT_TRUE(first.WaitFor([](Record &r) { return r.fired > 0; }));
    EXPECT_TRUE(second.WaitFor([](Record &r) { return r.fired > 0; }));

    virEventRemoveHandle(a);
    ASSERT_TRUE(first.WaitFor([](Record &r) { return r.freed == 1; }));
    int fired_before = 0;
    {
        std::lock_guard<std::mutex> guard(second.lock);
        fired_before = second.fired;
    }
    // The remaining watch keeps working after its sibling is gone.
    EXPECT_TRUE(second.WaitFor([&](Record &r) { return r.fired > fired_before; }));
    virEventRemoveHandle(b);
    ASSERT_TRUE(second.WaitFor([](Record &r) { return r.freed == 1; }));
}

TEST_F(LibvirtEventLoopTest, HangupIsReported) {
    Record record;
    int watch = virEventAddHandle(fds_[0], VIR_EVENT_HANDLE_READABLE, HandleFired, &record,
                                  Freed);
    ASSERT_GT(watch, 0);
    close(fds_[1]);
    fds_[1] = open("/dev/null", O_WRONLY); // keep TearDown's close harmless
    ASSERT_TRUE(record.WaitFor([](Record &r) {
        return r.last_events & (VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_READABLE);
    }));
    virEventRemoveHandle(watch);
    ASSERT_TRUE(record.WaitFor([](Record &r) { return r.freed == 1; }));
}

TEST_F(LibvirtEventLoopTest, PeriodicTimeoutFiresRepeatedlyUntilDisabled) {
    Record record;
    int timer = virEventAddTimeout(10, TimeoutFired, &record, Freed);
    ASSERT_GT(timer, 0);
    ASSERT_TRUE(record.WaitFor([](Record &r) { return r.fired >= 3; }));
    EXPECT_EQ(record.fired_on, loop_thread_);

    virEventUpdateTimeout(timer, -1);
    // After disabling, at most one already-due firing may still land.
    Record probe;
    int probe_timer = virEventAddTimeout(50, TimeoutFired, &probe, Freed);
    ASSERT_TRUE(probe.WaitFor([](Record &r) { return r.fired >= 2; }));
    int after_disable;
    {
        std::lock_guard<std::mutex> guard(record.lock);
        after_disable = record.fired;
    }
    ASSERT_TRUE(probe.WaitFor([](Record &r) { return r.fired >= 4; }));
    {
        std::lock_guard<std::mutex> guard(record.lock);
        EXPECT_EQ(record.fired, after_disable) << "a disabled timeout fired";
    }
    virEventRemoveTimeout(probe_timer);
    EXPECT_EQ(virEventRemoveTimeout(timer), 0);
    EXPECT_TRUE(record.WaitFor([](Record &r) { return r.freed == 1; }));
    EXPECT_TRUE(probe.WaitFor([](Record &r) { return r.freed == 1; }));
}

TEST_F(LibvirtEventLoopTest, ManyThreadsAddAndRemoveConcurrently) {
    constexpr int kThreads = 4;
    constexpr int kRounds = 200;
    std::atomic<int> freed{0};
    std::vector<std::thread> threads;

    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&] {
            for (int i = 0; i < kRounds; i++) {
                int timer = virEventAddTimeout(
                    i % 2 ? 0 : 1, [](int, void *) {},
                    &freed, [](void *p) { static_cast<std::atomic<int> *>(p)->fetch_add(1); });
                ASSERT_GT(timer, 0);
                virEventUpdateTimeout(timer, 5);
                ASSERT_EQ(virEventRemoveTimeout(timer), 0);
            }
        });
    }
    for (auto &thread : threads)
        thread.join();

    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (freed.load() < kThreads * kRounds && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    EXPECT_EQ(freed.load(), kThreads * kRounds) << "every removed timeout is freed once";
}

}  // namespace
