// A stand-in /init for the boot test of the guest image: it proves the
// kernel ran it ("proctor-init-ok"), loads every module the image lists in
// /etc/proctor/modules in order ("proctor-modules-ok N"), runs busybox's sh
// through the /bin/sh link ("proctor-busybox-ok"), and powers the guest off.
// It uses only system calls so that it links statically and stays small.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

void Say(int console, const char* text) {
  const size_t n = std::strlen(text);
  size_t done = 0;
  while (done < n) {
    const ssize_t w = write(console, text + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    done += static_cast<size_t>(w);
  }
}

// /proc/uptime's first field, for the boot-time figure.
void SayUptime(int console) {
  char uptime[64] = "?";
  const int fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const ssize_t n = read(fd, uptime, sizeof(uptime) - 1);
    uptime[n > 0 ? n : 0] = '\0';
    close(fd);
    char* space = std::strchr(uptime, ' ');
    if (space != nullptr) *space = '\0';
  }
  char line[128];
  std::snprintf(line, sizeof(line), "proctor-init-ok uptime=%s\n", uptime);
  Say(console, line);
}

int LoadModules(int console) {
  char list[65536];
  const int fd = open("/etc/proctor/modules", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Say(console, "proctor-modules-failed no /etc/proctor/modules\n");
    return -1;
  }
  const ssize_t n = read(fd, list, sizeof(list) - 1);
  close(fd);
  list[n > 0 ? n : 0] = '\0';
  int loaded = 0;
  for (char* line = std::strtok(list, "\n"); line != nullptr;
       line = std::strtok(nullptr, "\n")) {
    const int module = open(line, O_RDONLY | O_CLOEXEC);
    const long rc = module < 0 ? -1 : syscall(SYS_finit_module, module, "", 0);
    const int error = errno;
    if (module >= 0) close(module);
    if (rc != 0 && error != EEXIST) {
      char message[512];
      std::snprintf(message, sizeof(message), "proctor-module-failed %s %s\n",
                    line, std::strerror(error));
      Say(console, message);
      return -1;
    }
    ++loaded;
  }
  return loaded;
}

}  // namespace

int main() {
  int console = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (console < 0) console = 1;
  mount("proc", "/proc", "proc", 0, nullptr);
  SayUptime(console);
  const int loaded = LoadModules(console);
  if (loaded >= 0) {
    char line[64];
    std::snprintf(line, sizeof(line), "proctor-modules-ok %d\n", loaded);
    Say(console, line);
  }
  const pid_t child = fork();
  if (child == 0) {
    dup2(console, 1);
    execl("/bin/sh", "sh", "-c", "echo proctor-busybox-ok", nullptr);
    _exit(127);
  }
  if (child > 0) waitpid(child, nullptr, 0);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
