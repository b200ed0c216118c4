{
  "targets": [
    {
      "target_name": "berth_sys",
      "sources": ["berth_sys.c", "berth_spawn.c", "berth_ns.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
