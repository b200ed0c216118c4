// berth_sys: the few Linux syscalls Node lacks (mknod, l*xattr, mount, umount2; for streaming: ptys,
// SOCK_SEQPACKET sockets, connecting inside a network namespace; spawning without fork in
// berth_spawn.c; creating pod namespaces in berth_ns.c), as a tiny N-API addon.
// Every function returns a negative errno on failure instead of throwing; src/snapshot/sys.ts turns
// that into a proper Node-style ErrnoException, so this file stays minimal.
#define _GNU_SOURCE
#include "berth_napi.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

// mknod(path, mode /* incl. S_IFCHR|S_IFBLK|S_IFIFO */, major, minor) -> 0 | -errno
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t mode, major_n, minor_n;
  CHECK(napi_get_value_uint32(env, argv[1], &mode));
  CHECK(napi_get_value_uint32(env, argv[2], &major_n));
  CHECK(napi_get_value_uint32(env, argv[3], &minor_n));
  char *path = get_string(env, argv[0]);
  if (path == NULL) return NULL;
  int rc = mknod(path, (mode_t)mode, makedev(major_n, minor_n));
  int err = errno;
  free(path);
  return make_int(env, rc == 0 ? 0 : -err);
}

// lsetxattr(path, name, value: Buffer, flags) -> 0 | -errno
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data;
  size_t size;
  int32_t flags;
  CHECK(napi_get_buffer_info(env, argv[2], &data, &size));
  CHECK(napi_get_value_int32(env, argv[3], &flags));
  char *path = get_string(env, argv[0]);
  if (path == NULL) return NULL;
  char *name = get_string(env, argv[1]);
  if (name == NULL) {
    free(path);
    return NULL;
  }
  int rc = lsetxattr(path, name, data, size, flags);
  int err = errno;
  free(path);
  free(name);
  return make_int(env, rc == 0 ? 0 : -err);
}

// Shared by lgetxattr/llistxattr: size query, then fetch; retries if the value grew in between.
typedef ssize_t (*xattr_read_fn)(const char *path, const char *name, char *buf, size_t size);

static ssize_t do_lget(const char *path, const char *name, char *buf, size_t size) {
  return lgetxattr(path, name, buf, size);
}
static ssize_t do_llist(const char *path, const char *name, char *buf, size_t size) {
  (void)name;
  return llistxattr(path, buf, size);
}

static napi_value read_xattr(napi_env env, const char *path, const char *name, xattr_read_fn fn) {
  for (int attempt = 0; attempt < 4; attempt++) {
    ssize_t n = fn(path, name, NULL, 0);
    if (n < 0) return make_int(env, -errno);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL) {
      napi_throw_error(env, NULL, "berth_sys: out of memory");
      return NULL;
    }
    ssize_t got = fn(path, name, buf, (size_t)n);
    if (got < 0) {
      int err = errno;
      free(buf);
      if (err == ERANGE) continue;
      return make_int(env, -err);
    }
    napi_value out;
    napi_status st = napi_create_buffer_copy(env, (size_t)got, buf, NULL, &out);
    free(buf);
    if (st != napi_ok) {
      napi_throw_error(env, NULL, "berth_sys: cannot create buffer");
      return NULL;
    }
    return out;
  }
  return make_int(env, -ERANGE);
}

// lgetxattr(path, name) -> Buffer | -errno
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  if (path == NULL) return NULL;
  char *name = get_string(env, argv[1]);
  if (name == NULL) {
    free(path);
    return NULL;
  }
  napi_value r = read_xattr(env, path, name, do_lget);
  free(path);
  free(name);
  return r;
}

// llistxattr(path) -> Buffer of NUL-terminated names | -errno
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  if (path == NULL) return NULL;
  napi_value r = read_xattr(env, path, NULL, do_llist);
  free(path);
  return r;
}

struct mount_req {
  const char *source, *target, *fstype, *data, *cwd;
  unsigned long flags;
  int err;
};

// Runs on a short-lived thread of its own: unshare(CLONE_FS) gives that thread a private cwd, so it
// can chdir for relative overlay lowerdirs without moving the cwd of Node's other threads.
static void *mount_thread(void *arg) {
  struct mount_req *r = arg;
  r->err = 0;
  if (r->cwd != NULL) {
    if (unshare(CLONE_FS) != 0 || chdir(r->cwd) != 0) {
      r->err = errno;
      return NULL;
    }
  }
  if (mount(r->source, r->target, r->fstype, r->flags, r->data) != 0) r->err = errno;
  return NULL;
}

// mount(source, target, fstype, flags, data, cwd) -> 0 | -errno. fstype/data/cwd may be null.
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *s[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
  double flags_d;
  CHECK(napi_get_value_double(env, argv[3], &flags_d));
  napi_value result = NULL;
  for (int i = 0; i < 6; i++) {
    if (i == 3) continue;
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[i], &t));
    if (t == napi_null || t == napi_undefined) continue;
    s[i] = get_string(env, argv[i]);
    if (s[i] == NULL) goto out;
  }
  struct mount_req req = {s[0], s[1], s[2], s[4], s[5], (unsigned long)flags_d, 0};
  pthread_t th;
  int perr = pthread_create(&th, NULL, mount_thread, &req);
  if (perr != 0) {
    result = make_int(env, -perr);
    goto out;
  }
  pthread_join(th, NULL);
  result = make_int(env, -req.err);
out:
  for (int i = 0; i < 6; i++) free(s[i]);
  return result;
}

// umount2(target, flags) -> 0 | -errno
static napi_value js_umount2(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t flags;
  CHECK(napi_get_value_int32(env, argv[1], &flags));
  char *target = get_string(env, argv[0]);
  if (target == NULL) return NULL;
  int rc = umount2(target, flags);
  int err = errno;
  free(target);
  return make_int(env, rc == 0 ? 0 : -err);
}

// ---- streaming (exec, attach, port-forward) ----

// openPty() -> [master, slave] | -errno. Both close-on-exec; the slave is not made our controlling tty.
static napi_value js_open_pty(napi_env env, napi_callback_info info) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return make_int(env, -errno);
  char name[128];
  if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, sizeof(name)) != 0) {
    int err = errno;
    close(master);
    return make_int(env, -err);
  }
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    close(master);
    return make_int(env, -err);
  }
  napi_value arr;
  CHECK(napi_create_array_with_length(env, 2, &arr));
  CHECK(napi_set_element(env, arr, 0, make_int(env, master)));
  CHECK(napi_set_element(env, arr, 1, make_int(env, slave)));
  return arr;
}

// setWinsize(fd, rows, cols) -> 0 | -errno (TIOCSWINSZ)
static napi_value js_set_winsize(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  uint32_t rows, cols;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_uint32(env, argv[1], &rows));
  CHECK(napi_get_value_uint32(env, argv[2], &cols));
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  return make_int(env, ioctl(fd, TIOCSWINSZ, &ws) == 0 ? 0 : -errno);
}

// connectSeqpacket(path) -> fd | -errno. A blocking AF_UNIX SOCK_SEQPACKET client socket.
static napi_value js_connect_seqpacket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  if (path == NULL) return NULL;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path)) {
    free(path);
    return make_int(env, -ENAMETOOLONG);
  }
  strcpy(addr.sun_path, path);
  free(path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_int(env, -errno);
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    return make_int(env, -err);
  }
  return make_int(env, fd);
}

// sendPacket(fd, data: Buffer) -> bytes sent | -errno. Never blocks (EAGAIN when the peer is full).
static napi_value js_send_packet(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  void *data;
  size_t size;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_buffer_info(env, argv[1], &data, &size));
  ssize_t n = send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
  return make_int(env, n >= 0 ? n : -errno);
}

// shutdownFd(fd, how) -> 0 | -errno
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, how;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &how));
  return make_int(env, shutdown(fd, how) == 0 ? 0 : -errno);
}

// A packet reader: libuv cannot poll a SEQPACKET socket for us, so a thread of its own blocks in recv()
// and hands each packet to JS through a threadsafe function. JS may pause it (backpressure) and stops
// it by shutting the socket down, which ends the recv(). The last call carries (null, -errno | 0).
struct packet_reader {
  int fd;
  size_t max;
  napi_threadsafe_function tsfn;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int paused;
  int stopped;
  int refs; // the JS handle and the threadsafe function; freed when both are gone (main thread only)
};

struct packet {
  char *data; // NULL: end of stream
  ssize_t len; // -errno at the end
};

static void reader_unref(struct packet_reader *r) {
  if (--r->refs > 0) return;
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r);
}

static void reader_call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  struct packet *p = data;
  if (env != NULL && cb != NULL) {
    napi_value args[2], undef;
    napi_get_undefined(env, &undef);
    if (p->data != NULL) {
      napi_create_buffer_copy(env, (size_t)p->len, p->data, NULL, &args[0]);
      args[1] = make_int(env, 0);
    } else {
      napi_get_null(env, &args[0]);
      args[1] = make_int(env, p->len);
    }
    napi_call_function(env, undef, cb, 2, args, NULL);
  }
  free(p->data);
  free(p);
}

static void reader_tsfn_finalize(napi_env env, void *data, void *hint) {
  reader_unref(data);
}

static void reader_handle_finalize(napi_env env, void *data, void *hint) {
  reader_unref(data);
}

static void *reader_thread(void *arg) {
  struct packet_reader *r = arg;
  char *buf = malloc(r->max);
  ssize_t end = buf == NULL ? -ENOMEM : 0;
  while (buf != NULL) {
    pthread_mutex_lock(&r->mu);
    while (r->paused && !r->stopped) pthread_cond_wait(&r->cv, &r->mu);
    int stopped = r->stopped;
    pthread_mutex_unlock(&r->mu);
    if (stopped) break;
    ssize_t n = recv(r->fd, buf, r->max, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      end = n < 0 ? -errno : 0;
      break;
    }
    struct packet *p = malloc(sizeof(*p));
    char *copy = malloc((size_t)n);
    if (p == NULL || copy == NULL) {
      free(p);
      free(copy);
      end = -ENOMEM;
      break;
    }
    memcpy(copy, buf, (size_t)n);
    p->data = copy;
    p->len = n;
    if (napi_call_threadsafe_function(r->tsfn, p, napi_tsfn_blocking) != napi_ok) {
      free(copy);
      free(p);
      break;
    }
  }
  free(buf);
  struct packet *last = malloc(sizeof(*last));
  if (last != NULL) {
    last->data = NULL;
    last->len = end;
    if (napi_call_threadsafe_function(r->tsfn, last, napi_tsfn_blocking) != napi_ok) free(last);
  }
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  return NULL;
}

// startPacketReader(fd, maxPacket, onPacket(buf | null, err)) -> handle | -errno. The fd stays the caller's:
// close it only after the final (null) call.
static napi_value js_start_packet_reader(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  uint32_t max;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_uint32(env, argv[1], &max));
  struct packet_reader *r = calloc(1, sizeof(*r));
  if (r == NULL) return make_int(env, -ENOMEM);
  r->fd = fd;
  r->max = max > 0 ? max : 65536;
  r->refs = 2;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  napi_value name;
  CHECK(napi_create_string_utf8(env, "berth packet reader", NAPI_AUTO_LENGTH, &name));
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 64, 1, r, reader_tsfn_finalize, NULL, reader_call_js, &r->tsfn) != napi_ok) {
    r->refs = 1;
    reader_unref(r);
    napi_throw_error(env, NULL, "berth_sys: cannot create threadsafe function");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, r, reader_handle_finalize, NULL, &handle) != napi_ok) {
    r->refs = 1; // the threadsafe function's reference, dropped on release below
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    napi_throw_error(env, NULL, "berth_sys: cannot create handle");
    return NULL;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int perr = pthread_create(&th, &attr, reader_thread, r);
  pthread_attr_destroy(&attr);
  if (perr != 0) {
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    return make_int(env, -perr);
  }
  // The thread must not keep the event loop alive by itself: the socket's owner decides that.
  napi_unref_threadsafe_function(env, r->tsfn);
  return handle;
}

// packetReaderControl(handle, paused: boolean, stop: boolean): pause/resume; stop ends the reader after
// the current recv() (shut the socket down to end that one).
static napi_value js_packet_reader_control(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data;
  bool paused, stop;
  CHECK(napi_get_value_external(env, argv[0], &data));
  CHECK(napi_get_value_bool(env, argv[1], &paused));
  CHECK(napi_get_value_bool(env, argv[2], &stop));
  struct packet_reader *r = data;
  pthread_mutex_lock(&r->mu);
  r->paused = paused;
  if (stop) r->stopped = 1;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return make_int(env, 0);
}

// connectInNetns: a short-lived thread of its own joins the network namespace (setns moves only the
// calling thread), makes a TCP connection, and leaves; the socket stays in that namespace.
struct netns_connect {
  char *ns_path; // NULL: the host's namespace
  char *host;
  uint32_t port;
  uint32_t timeout_ms;
  int result; // fd | -errno
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
};

static void netns_connect_free(struct netns_connect *c) {
  free(c->ns_path);
  free(c->host);
  free(c);
}

static void *netns_connect_thread(void *arg) {
  struct netns_connect *c = arg;
  int fd = -1;
  c->result = 0;
  if (c->ns_path != NULL) {
    int ns = open(c->ns_path, O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) c->result = -errno;
    if (ns >= 0) close(ns);
  }
  if (c->result == 0) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, c->host, &a4->sin_addr) == 1) {
      a4->sin_family = AF_INET;
      a4->sin_port = htons((uint16_t)c->port);
      len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, c->host, &a6->sin6_addr) == 1) {
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons((uint16_t)c->port);
      len = sizeof(*a6);
    } else {
      len = 0;
      c->result = -EINVAL;
    }
    if (len > 0) {
      fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        c->result = -errno;
      } else {
        // connect() honours SO_SNDTIMEO: a peer that never answers cannot hold the thread forever.
        struct timeval tv = {.tv_sec = c->timeout_ms / 1000, .tv_usec = (c->timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        int rc;
        do rc = connect(fd, (struct sockaddr *)&ss, len);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
          c->result = errno == EINPROGRESS ? -ETIMEDOUT : -errno;
          close(fd);
        } else {
          struct timeval zero = {0, 0};
          setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof(zero));
          c->result = fd;
        }
      }
    }
  }
  // Once the call is queued the JS thread owns (and frees) c: keep what we still need in locals.
  napi_threadsafe_function tsfn = c->tsfn;
  if (napi_call_threadsafe_function(tsfn, c, napi_tsfn_blocking) != napi_ok) {
    if (c->result >= 0) close(c->result);
    netns_connect_free(c);
  }
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

static void netns_connect_call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  struct netns_connect *c = data;
  if (env != NULL) {
    napi_resolve_deferred(env, c->deferred, make_int(env, c->result));
  } else if (c->result >= 0) {
    close(c->result);
  }
  netns_connect_free(c);
}

// connectInNetns(nsPath | null, host, port, timeoutMs) -> Promise<fd | -errno>
static napi_value js_connect_in_netns(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct netns_connect *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    napi_throw_error(env, NULL, "berth_sys: out of memory");
    return NULL;
  }
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[0], &t));
  if (t != napi_null && t != napi_undefined) {
    c->ns_path = get_string(env, argv[0]);
    if (c->ns_path == NULL) {
      netns_connect_free(c);
      return NULL;
    }
  }
  c->host = get_string(env, argv[1]);
  if (c->host == NULL || napi_get_value_uint32(env, argv[2], &c->port) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &c->timeout_ms) != napi_ok) {
    netns_connect_free(c);
    napi_throw_type_error(env, NULL, "berth_sys: connectInNetns(nsPath, host, port, timeoutMs)");
    return NULL;
  }
  napi_value promise, name;
  CHECK(napi_create_promise(env, &c->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "berth netns connect", NAPI_AUTO_LENGTH, &name));
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, netns_connect_call_js, &c->tsfn) != napi_ok) {
    napi_resolve_deferred(env, c->deferred, make_int(env, -ENOMEM));
    netns_connect_free(c);
    return promise;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int perr = pthread_create(&th, &attr, netns_connect_thread, c);
  pthread_attr_destroy(&attr);
  if (perr != 0) {
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    napi_resolve_deferred(env, c->deferred, make_int(env, -perr));
    netns_connect_free(c);
  }
  return promise;
}

napi_status berth_spawn_register(napi_env env, napi_value exports); // berth_spawn.c
napi_status berth_ns_register(napi_env env, napi_value exports);    // berth_ns.c

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL},
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
      {"umount2", NULL, js_umount2, NULL, NULL, NULL, napi_default, NULL},
      {"openPty", NULL, js_open_pty, NULL, NULL, NULL, napi_default, NULL},
      {"setWinsize", NULL, js_set_winsize, NULL, NULL, NULL, napi_default, NULL},
      {"connectSeqpacket", NULL, js_connect_seqpacket, NULL, NULL, NULL, napi_default, NULL},
      {"sendPacket", NULL, js_send_packet, NULL, NULL, NULL, napi_default, NULL},
      {"shutdownFd", NULL, js_shutdown, NULL, NULL, NULL, napi_default, NULL},
      {"startPacketReader", NULL, js_start_packet_reader, NULL, NULL, NULL, napi_default, NULL},
      {"packetReaderControl", NULL, js_packet_reader_control, NULL, NULL, NULL, napi_default, NULL},
      {"connectInNetns", NULL, js_connect_in_netns, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  if (berth_spawn_register(env, exports) != napi_ok || berth_ns_register(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
