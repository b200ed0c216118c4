// Helpers shared by the addon's source files (one module, several files by concern).
#ifndef BERTH_NAPI_H
#define BERTH_NAPI_H
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "berth_sys: bad arguments: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

// Copies a JS string into a malloc'd C string (caller frees). NULL on error (JS exception set).
static inline char *get_string(napi_env env, napi_value v) {
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

static inline napi_value make_int(napi_env env, int64_t n) {
  napi_value r;
  napi_create_int64(env, n, &r);
  return r;
}

#endif
