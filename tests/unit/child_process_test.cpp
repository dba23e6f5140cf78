#include "mltk/common/child_process.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <system_error>

using mltk::ChildProcess;

namespace {

ChildProcess::Clock::time_point in(std::chrono::milliseconds delay) { return ChildProcess::Clock::now() + delay; }

constexpr auto kPatient = std::chrono::seconds(60);  // for steps that should succeed

}  // namespace

TEST(ChildProcess, ExchangesBytesThroughPipes) {
  ChildProcess cat({"cat"});
  const std::string message(4000, 'm');
  ASSERT_EQ(cat.write(message.data(), message.size(), in(kPatient)), ChildProcess::Io::kDone);
  std::string echoed(message.size(), '\0');
  ASSERT_EQ(cat.read(echoed.data(), echoed.size(), in(kPatient)), ChildProcess::Io::kDone);
  EXPECT_EQ(echoed, message);
  // cat ends when its input closes, which stop() does before it would kill.
  EXPECT_EQ(cat.stop(in(kPatient)), "exited with status 0");
  EXPECT_EQ(cat.exit_code(), 0);
}

TEST(ChildProcess, ExitedChildGivesClosedAndItsStatusAndStderr) {
  ChildProcess failing({"sh", "-c", "echo 'cannot go on' >&2; exit 7"});
  char byte;
  EXPECT_EQ(failing.read(&byte, 1, in(kPatient)), ChildProcess::Io::kClosed);
  // More than a pipe holds, to a reader that is gone: EPIPE, reported as kClosed instead of a
  // SIGPIPE that would end this test binary.
  const std::string payload(1 << 20, 'p');
  EXPECT_EQ(failing.write(payload.data(), payload.size(), in(kPatient)), ChildProcess::Io::kClosed);
  EXPECT_EQ(failing.stop(in(kPatient)), "exited with status 7");
  EXPECT_EQ(failing.exit_code(), 7);
  EXPECT_EQ(failing.stderr_tail(), "cannot go on\n");
}

TEST(ChildProcess, StderrIsDrainedWhileWaitingAndItsTailKept) {
  // 300 kB on stderr before the reply: the child would block on a full pipe if nobody read it.
  ChildProcess chatty({"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x >&2; echo done"});
  std::string reply(5, '\0');
  ASSERT_EQ(chatty.read(reply.data(), reply.size(), in(kPatient)), ChildProcess::Io::kDone);
  EXPECT_EQ(reply, "done\n");
  chatty.stop(in(kPatient));
  EXPECT_EQ(chatty.stderr_tail(), std::string(8192, 'x'));
}

TEST(ChildProcess, SilentChildTimesOutAndIsKilled) {
  ChildProcess silent({"sleep", "600"});
  char byte;
  EXPECT_EQ(silent.read(&byte, 1, in(std::chrono::milliseconds(200))), ChildProcess::Io::kTimedOut);
  const std::string payload(1 << 20, 'p');  // never read by sleep: the pipe fills up
  EXPECT_EQ(silent.write(payload.data(), payload.size(), in(std::chrono::milliseconds(200))),
            ChildProcess::Io::kTimedOut);
  EXPECT_EQ(silent.stop(ChildProcess::Clock::now()), "was killed by signal 9 (Killed)");
  EXPECT_EQ(silent.exit_code(), std::nullopt);
}

TEST(ChildProcess, MissingProgramIsReportedAsNotFound) {
  try {
    ChildProcess missing({"mltk-no-such-program"});
    FAIL() << "started a program that does not exist";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory) << e.what();
    EXPECT_NE(std::string(e.what()).find("mltk-no-such-program"), std::string::npos) << e.what();
  }
}
