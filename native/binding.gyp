{
  "targets": [
    {
      "target_name": "switchboard_udp",
      "sources": ["udp.c", "preparse.c", "image.c", "image_napi.c", "mmap.c", "shield.c", "shield_glue.c", "block6.c", "standing.c", "shield_napi.c", "prefilter.c", "prefilter_lone.c", "tcp_gate.c", "tcp_serve.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "switchboard_exec",
      "sources": ["exec.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "switchboard_drill",
      "sources": ["drill.c", "drill_napi.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
