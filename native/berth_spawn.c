// Process spawning for berthd without fork(): libuv forks the whole daemon for every child, which
// copies its page tables (a few ms per 100 MiB of RSS, with the event loop stopped), and berthd
// starts several programs per pod. glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK): the cost
// no longer grows with the daemon. Exits are reaped by one detached thread per child blocked in
// waitpid(pid) (libuv only ever waits for its own pids, so the two never steal each other's).
#define _GNU_SOURCE
#include "berth_napi.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void free_strv(char **v) {
  if (v == NULL) return;
  for (char **p = v; *p != NULL; p++) free(*p);
  free(v);
}

// A JS string[] as a NULL-terminated malloc'd vector; NULL with a JS exception on error.
static char **get_strv(napi_env env, napi_value arr) {
  uint32_t n = 0;
  if (napi_get_array_length(env, arr, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "berth_sys: expected a string array");
    return NULL;
  }
  char **v = calloc(n + 1, sizeof(char *));
  if (v == NULL) {
    napi_throw_error(env, NULL, "berth_sys: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    size_t len = 0;
    if (napi_get_element(env, arr, i, &e) != napi_ok || napi_get_value_string_utf8(env, e, NULL, 0, &len) != napi_ok) {
      free_strv(v);
      napi_throw_type_error(env, NULL, "berth_sys: expected a string array");
      return NULL;
    }
    v[i] = malloc(len + 1);
    if (v[i] == NULL) {
      free_strv(v);
      napi_throw_error(env, NULL, "berth_sys: out of memory");
      return NULL;
    }
    napi_get_value_string_utf8(env, e, v[i], len + 1, &len);
  }
  return v;
}

// socketpair() -> [fd, fd] (AF_UNIX stream, both close-on-exec) | -errno. Stdio is a socket pair,
// not a pipe, as with libuv: ending a writable side is a shutdown(), which a pipe does not support.
static napi_value js_socketpair(napi_env env, napi_callback_info info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return make_int(env, -errno);
  napi_value arr;
  CHECK(napi_create_array_with_length(env, 2, &arr));
  CHECK(napi_set_element(env, arr, 0, make_int(env, fds[0])));
  CHECK(napi_set_element(env, arr, 1, make_int(env, fds[1])));
  return arr;
}

// closeFd(fd) -> 0 | -errno (for fds the JS side never wrapped in a stream)
static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  return make_int(env, close(fd) == 0 ? 0 : -errno);
}

// spawn(file, argv, envp, cwd | null, fds, setsid) -> pid | -errno
// fds[i] is the parent's fd that becomes the child's fd i; every other fd is closed in the child.
// Signal mask and dispositions are reset (Node ignores SIGPIPE; children must not inherit that).
static napi_value js_spawn(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *file = NULL, *cwd = NULL, **args = NULL, **envp = NULL;
  int *src = NULL;
  uint32_t nfds = 0;
  bool setsid_flag = false;
  int result = -EINVAL;
  napi_valuetype t;

  if ((file = get_string(env, argv[0])) == NULL) {
    result = 0; // exception pending
    goto out;
  }
  if ((args = get_strv(env, argv[1])) == NULL || (envp = get_strv(env, argv[2])) == NULL) {
    result = 0; // exception pending
    goto out;
  }
  if (napi_typeof(env, argv[3], &t) != napi_ok) goto bad;
  if (t == napi_string && (cwd = get_string(env, argv[3])) == NULL) {
    result = 0;
    goto out;
  }
  if (napi_get_array_length(env, argv[4], &nfds) != napi_ok || nfds > 64) goto bad;
  if (napi_get_value_bool(env, argv[5], &setsid_flag) != napi_ok) goto bad;
  src = calloc(nfds ? nfds : 1, sizeof(int));
  if (src == NULL) goto oom;
  for (uint32_t i = 0; i < nfds; i++) src[i] = -1;
  // Move every source fd above the target range first, so no dup2 overwrites a source not yet used.
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value e;
    int32_t fd;
    if (napi_get_element(env, argv[4], i, &e) != napi_ok || napi_get_value_int32(env, e, &fd) != napi_ok) goto bad;
    src[i] = fcntl(fd, F_DUPFD_CLOEXEC, (int)nfds);
    if (src[i] < 0) {
      result = -errno;
      goto out;
    }
  }

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  for (uint32_t i = 0; i < nfds; i++) posix_spawn_file_actions_adddup2(&fa, src[i], (int)i);
  posix_spawn_file_actions_addclosefrom_np(&fa, (int)nfds);
  if (cwd != NULL) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (setsid_flag) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid;
  // `file` is a path: the JS side looks it up in the child's PATH first, as libuv does.
  int err = posix_spawn(&pid, file, &fa, &attr, args, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  result = err == 0 ? pid : -err;
  goto out;

bad:
  napi_throw_type_error(env, NULL, "berth_sys: spawn(file, argv, envp, cwd|null, fds, setsid)");
  result = 0;
  goto out;
oom:
  napi_throw_error(env, NULL, "berth_sys: out of memory");
  result = 0;
out:
  if (src != NULL)
    for (uint32_t i = 0; i < nfds; i++)
      if (src[i] >= 0) close(src[i]);
  free(src);
  free(file);
  free(cwd);
  free_strv(args);
  free_strv(envp);
  return result == 0 ? NULL : make_int(env, result);
}

struct exit_waiter {
  pid_t pid;
  int status;
  int err;
  napi_threadsafe_function tsfn;
};

static void *exit_waiter_thread(void *arg) {
  struct exit_waiter *w = arg;
  int rc;
  do rc = waitpid(w->pid, &w->status, 0);
  while (rc < 0 && errno == EINTR);
  w->err = rc < 0 ? errno : 0;
  napi_threadsafe_function tsfn = w->tsfn;
  if (napi_call_threadsafe_function(tsfn, w, napi_tsfn_blocking) != napi_ok) free(w);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

// Calls cb(code, signal, -errno): code is the exit status or -1, signal the killing signal or 0.
static void exit_waiter_call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  struct exit_waiter *w = data;
  if (env != NULL && cb != NULL) {
    int code = -1, sig = 0;
    if (w->err == 0 && WIFEXITED(w->status)) code = WEXITSTATUS(w->status);
    if (w->err == 0 && WIFSIGNALED(w->status)) sig = WTERMSIG(w->status);
    napi_value args[3] = {make_int(env, code), make_int(env, sig), make_int(env, -w->err)};
    napi_value global;
    napi_get_global(env, &global);
    napi_call_function(env, global, cb, 3, args, NULL);
  }
  free(w);
}

// waitExit(pid, cb, keepAlive) -> 0 | -errno. keepAlive=false lets the event loop end before the
// child does (like ChildProcess.unref()).
static napi_value js_wait_exit(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t pid;
  bool keep_alive;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &pid));
  CHECK(napi_get_value_bool(env, argv[2], &keep_alive));
  struct exit_waiter *w = calloc(1, sizeof(*w));
  if (w == NULL) return make_int(env, -ENOMEM);
  w->pid = pid;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "berth exit waiter", NAPI_AUTO_LENGTH, &name));
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, exit_waiter_call_js, &w->tsfn) != napi_ok) {
    free(w);
    return make_int(env, -ENOMEM);
  }
  if (!keep_alive) napi_unref_threadsafe_function(env, w->tsfn);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // A waiter only blocks in waitpid: a small stack is plenty.
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t th;
  int perr = pthread_create(&th, &attr, exit_waiter_thread, w);
  pthread_attr_destroy(&attr);
  if (perr != 0) {
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
    free(w);
    return make_int(env, -perr);
  }
  return make_int(env, 0);
}

// Adds the process functions to the addon's exports (called from berth_sys.c's init).
napi_status berth_spawn_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"socketpair", NULL, js_socketpair, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, js_close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"spawn", NULL, js_spawn, NULL, NULL, NULL, napi_default, NULL},
      {"waitExit", NULL, js_wait_exit, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
