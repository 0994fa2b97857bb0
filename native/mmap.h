/*
 * mapFile(path): a whole file memory-mapped read-only and shared (mmap.c), for the image
 * packs of src/image/pack.ts; trimHeap(): malloc_trim(0), after a big compile (serve).
 */
#ifndef SWITCHBOARD_MMAP_H
#define SWITCHBOARD_MMAP_H

#include <node_api.h>

/* Adds mapFile and trimHeap to the addon's exports; returns 0 on failure (an exception is pending). */
int sb_mmap_define(napi_env env, napi_value exports);

#endif
