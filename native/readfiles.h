/*
 * readFiles(...): many small files opened, stat'ed and read in one call (readfiles.c), for the
 * compile threads of src/server/shared/compile-thread.ts (a cold start reads 100,000 zone files).
 */
#ifndef SWITCHBOARD_READFILES_H
#define SWITCHBOARD_READFILES_H

#include <node_api.h>

/* Adds readFiles to the addon's exports; returns 0 on failure (an exception is pending). */
int sb_readfiles_define(napi_env env, napi_value exports);

#endif
