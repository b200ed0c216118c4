// berth_sys: the few Linux syscalls Node lacks (mknod, l*xattr, mount, umount2), as a tiny N-API addon.
// Every function returns a negative errno on failure instead of throwing; src/snapshot/sys.ts turns
// that into a proper Node-style ErrnoException, so this file stays minimal.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "berth_sys: bad arguments: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

// Copies a JS string argument into a malloc'd C string (caller frees). NULL on error (JS exception set).
static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "berth_sys: expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    napi_throw_error(env, NULL, "berth_sys: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static napi_value make_int(napi_env env, int64_t n) {
  napi_value r;
  napi_create_int64(env, n, &r);
  return r;
}

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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL},
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
      {"umount2", NULL, js_umount2, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
