// Creating and pinning a pod's namespaces without running a program: namespaces belong to a
// thread, so a short-lived thread of our own unshares new net/ipc/uts namespaces, bind-mounts
// each onto its pin file (created if missing), sets them up (loopback up, hostname, sysctls) and exits. This replaces
// unshare(1) + sh + ip(8) (three execs and a fork) on every RunPodSandbox.
#define _GNU_SOURCE
#include "berth_napi.h"
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#define NS_KINDS 3
static const char *const ns_names[NS_KINDS] = {"net", "ipc", "uts"};
static const int ns_flags[NS_KINDS] = {CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS};

struct ns_pin {
  char *pin[NS_KINDS]; // pin file per kind, NULL = not wanted
  char *hostname;
  int lo_up;
  char **sysctl_paths;
  char **sysctl_values;
  uint32_t nsysctls;
  // result
  int err;         // 0 | errno
  const char *step; // which step failed
  int index;       // sysctl index when step is "sysctl"
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
};

static void ns_pin_free(struct ns_pin *p) {
  for (int i = 0; i < NS_KINDS; i++) free(p->pin[i]);
  free(p->hostname);
  for (uint32_t i = 0; i < p->nsysctls; i++) {
    if (p->sysctl_paths) free(p->sysctl_paths[i]);
    if (p->sysctl_values) free(p->sysctl_values[i]);
  }
  free(p->sysctl_paths);
  free(p->sysctl_values);
  free(p);
}

static int write_all(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  size_t len = strlen(value), off = 0;
  int err = 0;
  while (off < len) {
    ssize_t n = write(fd, value + off, len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    off += (size_t)n;
  }
  if (close(fd) != 0 && err == 0) err = errno;
  return err;
}

static void ns_pin_work(struct ns_pin *p) {
  int flags = 0;
  for (int i = 0; i < NS_KINDS; i++)
    if (p->pin[i]) flags |= ns_flags[i];
  if (unshare(flags) != 0) {
    p->err = errno;
    p->step = "unshare";
    return;
  }
  for (int i = 0; i < NS_KINDS; i++) {
    if (!p->pin[i]) continue;
    // A bind mount needs an existing file to land on.
    int fd = open(p->pin[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0) {
      p->err = errno;
      p->step = "create pin file";
      return;
    }
    close(fd);
    char src[64];
    snprintf(src, sizeof(src), "/proc/thread-self/ns/%s", ns_names[i]);
    if (mount(src, p->pin[i], NULL, MS_BIND, NULL) != 0) {
      p->err = errno;
      p->step = "mount";
      return;
    }
  }
  if (p->lo_up) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    int rc = s < 0 ? -1 : ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
      ifr.ifr_flags |= IFF_UP;
      rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    if (rc != 0) {
      p->err = errno;
      p->step = "loopback up";
    }
    if (s >= 0) close(s);
    if (p->err) return;
  }
  if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) != 0) {
    p->err = errno;
    p->step = "sethostname";
    return;
  }
  for (uint32_t i = 0; i < p->nsysctls; i++) {
    int err = write_all(p->sysctl_paths[i], p->sysctl_values[i]);
    if (err) {
      p->err = err;
      p->step = "sysctl";
      p->index = (int)i;
      return;
    }
  }
}

static void *ns_pin_thread(void *arg) {
  struct ns_pin *p = arg;
  ns_pin_work(p);
  // This thread now lives in the new namespaces: it must end here, never run anything else.
  napi_threadsafe_function tsfn = p->tsfn;
  if (napi_call_threadsafe_function(tsfn, p, napi_tsfn_blocking) != napi_ok) ns_pin_free(p);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

static void ns_pin_call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  struct ns_pin *p = data;
  if (env != NULL) {
    napi_value result, v;
    napi_create_object(env, &result);
    napi_create_int32(env, -p->err, &v);
    napi_set_named_property(env, result, "errno", v);
    napi_create_string_utf8(env, p->step ? p->step : "", NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, result, "step", v);
    napi_create_int32(env, p->index, &v);
    napi_set_named_property(env, result, "index", v);
    napi_resolve_deferred(env, p->deferred, result);
  }
  ns_pin_free(p);
}

// pinNewNamespaces({net?, ipc?, uts?}: pin paths, hostname | null, loUp, [[path, value], ...])
//   -> Promise<{errno: 0 | -errno, step, index}>
static napi_value js_pin_new_namespaces(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ns_pin *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    napi_throw_error(env, NULL, "berth_sys: out of memory");
    return NULL;
  }
  bool ok = true;
  for (int i = 0; i < NS_KINDS && ok; i++) {
    bool has = false;
    napi_value v;
    napi_valuetype t;
    if (napi_has_named_property(env, argv[0], ns_names[i], &has) != napi_ok) ok = false;
    if (ok && has && napi_get_named_property(env, argv[0], ns_names[i], &v) == napi_ok && napi_typeof(env, v, &t) == napi_ok && t == napi_string)
      ok = (p->pin[i] = get_string(env, v)) != NULL;
  }
  napi_valuetype t;
  if (ok && napi_typeof(env, argv[1], &t) == napi_ok && t == napi_string) ok = (p->hostname = get_string(env, argv[1])) != NULL;
  bool lo = false;
  if (ok) ok = napi_get_value_bool(env, argv[2], &lo) == napi_ok;
  p->lo_up = lo;
  uint32_t n = 0;
  if (ok) ok = napi_get_array_length(env, argv[3], &n) == napi_ok;
  if (ok && n > 0) {
    p->sysctl_paths = calloc(n, sizeof(char *));
    p->sysctl_values = calloc(n, sizeof(char *));
    ok = p->sysctl_paths && p->sysctl_values;
    if (ok) p->nsysctls = n;
    for (uint32_t i = 0; i < n && ok; i++) {
      napi_value pair, a, b;
      ok = napi_get_element(env, argv[3], i, &pair) == napi_ok && napi_get_element(env, pair, 0, &a) == napi_ok &&
           napi_get_element(env, pair, 1, &b) == napi_ok && (p->sysctl_paths[i] = get_string(env, a)) != NULL &&
           (p->sysctl_values[i] = get_string(env, b)) != NULL;
    }
  }
  if (!ok) {
    ns_pin_free(p);
    napi_throw_type_error(env, NULL, "berth_sys: pinNewNamespaces({net?, ipc?, uts?}, hostname|null, loUp, [[path, value]])");
    return NULL;
  }
  napi_value promise, name;
  CHECK(napi_create_promise(env, &p->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "berth namespace pin", NAPI_AUTO_LENGTH, &name));
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, ns_pin_call_js, &p->tsfn) != napi_ok) {
    napi_reject_deferred(env, p->deferred, name);
    ns_pin_free(p);
    return promise;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 128 * 1024);
  pthread_t th;
  int perr = pthread_create(&th, &attr, ns_pin_thread, p);
  pthread_attr_destroy(&attr);
  if (perr != 0) {
    p->err = perr;
    p->step = "pthread_create";
    napi_threadsafe_function tsfn = p->tsfn;
    // Resolve through the normal path so the JS side sees one result shape.
    if (napi_call_threadsafe_function(tsfn, p, napi_tsfn_blocking) != napi_ok) ns_pin_free(p);
    napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
  return promise;
}

napi_status berth_ns_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"pinNewNamespaces", NULL, js_pin_new_namespaces, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
