/*
 * N-API entries for the shield of the calling JS thread's batch loop (shield_glue.c). The
 * settings come from src/transport/native-shield.ts, which documents the numbers' order.
 *
 *   shieldConfigure(mode, numbers: Float64Array(28), secrets: Uint8Array(16 × n ≤ 3),
 *                   allow: Uint8Array(18 × n: [length 4|16, bits, 16 octets]),
 *                   zones?: Float64Array(9 × n ≤ 1024: [key, minNx, budgetFloor, rrl rates ×5, metrics];
 *                   a value < 0 keeps the server's))
 *                      mode 0 turns it off; throws ERR_NATIVE_UDP_ARGS on bad settings
 *   shieldStats(): { seen, answered, dropped, truncated, allowed, wouldDrop, wouldTruncate,
 *                    rrlDropped, rrlSlipped, cookies[5], overload, shedBudget[4],
 *                    shedOverload[4], attacked: number[], events: [zoneKey, attacked][],
 *                    lostEvents, top: [zoneKey, queries/s, missing/s][] (the 10 busiest),
 *                    watched: [zoneKey, queries/s, missing/s][] (zones set with metrics, tracked now) } | null
 *                   (events are drained by the call)
 *   shieldNoteTcp(address: Uint8Array(4|16)): a completed TCP handshake from it
 *   shieldTcpAdmit(address: Uint8Array(4|16)): false when a TCP connection just accepted from it
 *                    is to be closed at once (sb_shield_tcp_admit: overload, nothing vouches for it)
 *   shieldSetSecrets(secrets: Uint8Array(16 × n, 1 ≤ n ≤ 3)): true when a shield is on and
 *                    now checks and makes cookies with them (its tables kept); false when off
 *   shieldSetZones(zones: Float64Array(9 × n ≤ 1024), as shieldConfigure's): new per-zone settings
 *                    (the control plane's, pushed to a running worker), its tables kept; true when
 *                    a shield is on, false when off; throws ERR_NATIVE_UDP_ARGS on bad settings
 */
#include <math.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prefilter.h"
#include "shield.h"

#define SCHECK(call)                          \
  do {                                        \
    if ((call) != napi_ok) {                  \
      napi_throw_error(env, NULL, #call);     \
      return NULL;                            \
    }                                         \
  } while (0)

#define SB_SHIELD_NUMBERS 28

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is = false;
  napi_typedarray_type tt;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL) != napi_ok || tt != want) return 0;
  return 1;
}

static napi_value bad(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS", msg);
  return NULL;
}

/*
 * Zone settings from 9 numbers each (key, min-nx, budget, five RRL rates, metrics), every
 * number checked before a cast (a NaN or out-of-range double cast to an integer is undefined
 * behaviour): key an integer in 0..2^32-1, the others -1 ("the server's") or 0..1e9. NULL when
 * refused or out of memory; the caller frees.
 */
static sb_zone_setting *zone_settings_of(const double *zs, size_t n) {
  sb_zone_setting *settings = calloc(n > 0 ? n : 1, sizeof(*settings));
  if (settings == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    const double *e = zs + 9 * i;
    if (!(e[0] >= 0 && e[0] <= 4294967295.0 && e[0] == floor(e[0]))) goto refused;
    for (int k = 1; k < 9; k++)
      if (!(e[k] == -1 || (e[k] >= 0 && e[k] <= 1e9))) goto refused;
    settings[i].key = (uint32_t)e[0];
    settings[i].min_nx = e[1];
    settings[i].budget_floor = e[2];
    for (int k = 0; k < 5; k++) settings[i].rrl_rates[k] = e[3 + k];
    settings[i].metrics = e[8] > 0;
  }
  return settings;
refused:
  free(settings);
  return NULL;
}

static napi_value js_configure(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], u;
  SCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t mode = 0;
  double *num, *zs = NULL;
  size_t nzs = 0;
  napi_valuetype zt = napi_undefined;
  if (argc >= 5) SCHECK(napi_typeof(env, argv[4], &zt));
  if (zt != napi_undefined &&
      (!typed(env, argv[4], napi_float64_array, (void **)&zs, &nzs) || nzs % 9 != 0 ||
       nzs / 9 > SB_SHIELD_MAX_ZONE_SETTINGS))
    return bad(env, "shieldConfigure(…, zones: Float64Array(9n), n <= 1024)");
  uint8_t *sec, *allow;
  size_t nnum, nsec, nallow;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &mode) != napi_ok ||
      !typed(env, argv[1], napi_float64_array, (void **)&num, &nnum) || nnum != SB_SHIELD_NUMBERS ||
      !typed(env, argv[2], napi_uint8_array, (void **)&sec, &nsec) || nsec % 16 != 0 || nsec > 48 ||
      !typed(env, argv[3], napi_uint8_array, (void **)&allow, &nallow) || nallow % 18 != 0 ||
      nallow / 18 > SB_SHIELD_MAX_ALLOW)
    return bad(env, "shieldConfigure(mode, Float64Array(28), secrets: Uint8Array(16n), allow: Uint8Array(18n))");
  sb_shield_config *c = calloc(1, sizeof(*c));
  if (c == NULL) return bad(env, "out of memory");
  c->mode = mode;
  c->nsecrets = (unsigned)(nsec / 16);
  memcpy(c->secrets, sec, nsec);
  c->nallow = (unsigned)(nallow / 18);
  for (unsigned i = 0; i < c->nallow; i++) {
    c->allow_len[i] = allow[18 * i];
    c->allow_bits[i] = allow[18 * i + 1];
    memcpy(c->allow[i], allow + 18 * i + 2, 16);
  }
  c->rrl_on = num[0] != 0;
  for (int i = 0; i < 5; i++) c->rrl_rates[i] = num[1 + i];
  c->rrl_all = num[6];
  c->rrl_window = (unsigned)num[7];
  c->rrl_slip = (unsigned)num[8];
  c->rrl_v4 = (unsigned)num[9];
  c->rrl_v6 = (unsigned)num[10];
  c->rrl_table = (unsigned)num[11];
  c->zone_min_nx = num[12];
  c->zone_factor = num[13];
  c->zone_share = num[14];
  c->zone_hold = num[15];
  c->zone_floor = num[16];
  c->zone_table = (uint32_t)num[17];
  c->source_table = (uint32_t)num[18];
  c->history_min = (uint32_t)num[19];
  c->history_share = num[20];
  c->tcp_seconds = num[21];
  c->cookie_seconds = num[22];
  c->overload_behind = num[23];
  c->overload_smoothing = num[24];
  c->overload_hold = num[25];
  c->prefilter_threshold = num[26];
  c->prefilter_seconds = num[27];
  sb_zone_setting *settings = NULL;
  if (nzs > 0) {
    settings = zone_settings_of(zs, nzs / 9);
    if (settings == NULL) {
      free(c);
      return bad(env, "shieldConfigure: zone settings out of range (or out of memory)");
    }
    c->zone_settings = settings;
    c->nzone_settings = (unsigned)(nzs / 9);
  }
  int r = sb_shield_configure(mode == 0 ? NULL : c);
  free(settings);
  free(c);
  if (r != 0) {
    napi_throw_range_error(env, "ERR_NATIVE_UDP_ARGS", "shieldConfigure: settings out of range (or out of memory)");
    return NULL;
  }
  SCHECK(napi_get_undefined(env, &u));
  return u;
}

static int put(napi_env env, napi_value o, const char *k, double v) {
  napi_value n;
  return napi_create_double(env, v, &n) == napi_ok && napi_set_named_property(env, o, k, n) == napi_ok;
}

static napi_value array_of(napi_env env, const double *v, unsigned n) {
  napi_value a, x;
  if (napi_create_array_with_length(env, n, &a) != napi_ok) return NULL;
  for (unsigned i = 0; i < n; i++) {
    if (napi_create_double(env, v[i], &x) != napi_ok || napi_set_element(env, a, i, x) != napi_ok) return NULL;
  }
  return a;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, a;
  sb_shield *sh = sb_shield_thread();
  if (sh == NULL) {
    SCHECK(napi_get_null(env, &o));
    return o;
  }
  SCHECK(napi_create_object(env, &o));
  int ok = put(env, o, "seen", sh->seen) && put(env, o, "answered", sh->answered) &&
           put(env, o, "dropped", sh->dropped) && put(env, o, "truncated", sh->truncated) &&
           put(env, o, "allowed", sh->allowed) && put(env, o, "wouldDrop", sh->would_drop) &&
           put(env, o, "wouldTruncate", sh->would_truncate) && put(env, o, "rrlDropped", sh->rrl_dropped) &&
           put(env, o, "rrlSlipped", sh->rrl_slipped) && put(env, o, "overload", sh->overload.level) &&
           put(env, o, "lostEvents", sh->zones.lost_events) && put(env, o, "formerr", sh->formerr) &&
           put(env, o, "badcookie", sh->badcookie) && put(env, o, "wouldBadcookie", sh->would_badcookie) &&
           put(env, o, "blocksMade", sh->blocks_made) && put(env, o, "blocksSpared", sh->blocks_spared) && put(env, o, "blocksRenewed", sh->blocks_renewed) && put(env, o, "blocksGraced", sh->blocks_graced) &&
           put(env, o, "prefilterSampled", sh->sampled) && put(env, o, "wouldBlock", sh->would_block) &&
           put(env, o, "blocked", sh->nblocked) && put(env, o, "tcpRefused", sh->tcp_refused) &&
           put(env, o, "blocked6", sh->block6.nblocked) && put(env, o, "blocks6Made", sh->block6.made) &&
           put(env, o, "blocks6Renewed", sh->block6.renewed) && put(env, o, "blocks6Spared", sh->block6.spared) &&
           put(env, o, "prefilterSampled6", sh->block6.sampled) && put(env, o, "wouldBlock6", sh->block6.would_block) &&
           put(env, o, "wouldRefuseTcp", sh->would_refuse_tcp) && put(env, o, "qfZones", sh->nqf) &&
           put(env, o, "qfMade", sh->qf_made) && put(env, o, "qfEnded", sh->qf_ended) &&
           put(env, o, "qfWouldDrop", sh->qf_would_drop) && put(env, o, "qfRefusals", sh->qf_refusals) && put(env, o, "qfKnownAdded", sh->qf_known_added) &&
           put(env, o, "qfEstimate", sh->nqf > 0 ? sh->qf[0].estimate : 0) &&
           put(env, o, "qfShare", sh->nqf > 0 ? sh->qf_zones[0].admit / 4294967296.0 : 0) &&
           put(env, o, "standingShared", sh->sources.shared) && put(env, o, "calmRefused", sh->sources.calm_refused) &&
           put(env, o, "rrlShared", sh->cfg.rrl_on && sh->rrl.shared != NULL) &&
           put(env, o, "rrlSharedRetries", sh->cfg.rrl_on ? sh->rrl.shared_retries : 0) &&
           put(env, o, "bridges", sh->bridges) && put(env, o, "bridgeOn", sh->bridge_on) &&
           put(env, o, "bridgeMs", sh->bridge_ms) && put(env, o, "bridgesRefused", sh->bridges_refused) &&
           put(env, o, "bridgeLastMs", sh->bridge_last_ms) && put(env, o, "bridgeLastGood", sh->bridge_last_good) &&
           put(env, o, "bridgeLastWhy", sh->bridge_last_why) && put(env, o, "bridgeLastBlocks", sh->bridge_last_blocks) &&
           put(env, o, "bridgeJoined", sh->bridge_joined) && put(env, o, "bridgeLastJoined", sh->bridge_last_joined) &&
           put(env, o, "bridgesLong", sh->bridges_long) && put(env, o, "bridgeLastLong", sh->bridge_last_long) &&
           put(env, o, "bridgeLastKept", sh->bridge_last_kept) && put(env, o, "bridgeLastSized", sh->bridge_last_sized) &&
           put(env, o, "bridgeLastShareMax", sh->bridge_last_div_min > 0 ? 1 / sh->bridge_last_div_min : 0);
  uint64_t lone_attached = 0, lone_refused = 0, lone_ns = 0;
  sb_prefilter_lone_counts(&lone_attached, &lone_refused, &lone_ns);
  ok = ok && put(env, o, "bridgeLoneAttached", (double)lone_attached) &&
       put(env, o, "bridgeLoneRefused", (double)lone_refused) && put(env, o, "bridgeLoneMs", lone_ns / 1e6);
  /* maps25: the bridge's map writes (share, /24s of standing), and the LRU map of /24s now. */
  uint64_t map_writes = 0, map_ns = 0;
  sb_prefilter_lone_map_counts(&map_writes, &map_ns);
  /* The LRU map read (a batch lookup: ~0.2-0.4 ms when full) only while a bridge holds and once after
   * its lift (the map is read by no program after it): otherwise the last reading. */
  static __thread unsigned lru_entries = 0, lru_hot = 0;
  static __thread int lru = -1;
  static __thread double lru_lift_seen = -1;
  if (sh->bridge_on || sh->bridge_lifted != lru_lift_seen) {
    lru = sb_prefilter_lone_occupancy(&lru_entries, &lru_hot);
    lru_lift_seen = sh->bridge_lifted;
  }
  uint64_t maps_only = 0, deferred = 0;
  sb_prefilter_lone_tallies(&maps_only, &deferred);
  ok = ok && put(env, o, "bridgeLoneMapWrites", (double)map_writes) && put(env, o, "bridgeLoneMapMs", map_ns / 1e6) &&
       put(env, o, "bridgeLoneMapsOnly", (double)maps_only) && put(env, o, "bridgeLoneDeferred", (double)deferred);
  if (lru == 0)
    ok = ok && put(env, o, "loneMapEntries", lru_entries) && put(env, o, "loneMapHot", lru_hot) &&
         put(env, o, "loneMapSize", SB_LONE_MAP);
  ok = ok && put(env, o, "sourcesSize", sh->sources.table.size) && put(env, o, "sourcesEvictions", sh->sources.table.evictions);
  if (!ok) return bad(env, "shieldStats");
  /* When things happened, as wall-clock ms since the epoch (0: never), for the log's timeline. */
  struct timespec mono, wall;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &wall);
  double mono_ms = (double)mono.tv_sec * 1000 + (double)mono.tv_nsec / 1e6;
  double wall_ms = (double)wall.tv_sec * 1000 + (double)wall.tv_nsec / 1e6;
  const double at[6] = {sh->attacked_at, sh->qf_made_at, sh->blocked_at, sh->blocked_first_at, sh->behind_since, sh->bridge_last_at};
  const char *at_names[6] = {"attackedAt", "qfMadeAt", "blockedAt", "blockedFirstAt", "behindSince", "bridgeLastAt"};
  for (unsigned i = 0; i < 6; i++)
    if (!put(env, o, at_names[i], at[i] > 0 ? wall_ms - (mono_ms - at[i]) : 0)) return bad(env, "shieldStats");
  /* The onset trace, once, when its last slice is over: {at, slices: [[12 numbers] × 20]}. */
  if (sh->onset_start > 0 && !sh->onset_reported &&
      mono_ms - sh->onset_start >= (double)SB_ONSET_SLICES * SB_ONSET_SLICE_MS) {
    napi_value tr, sl;
    SCHECK(napi_create_object(env, &tr));
    if (!put(env, tr, "at", wall_ms - (mono_ms - sh->onset_start))) return bad(env, "shieldStats");
    SCHECK(napi_create_array_with_length(env, SB_ONSET_SLICES, &sl));
    for (unsigned i = 0; i < SB_ONSET_SLICES; i++) {
      double f[SB_ONSET_FIELDS];
      for (unsigned j = 0; j < SB_ONSET_FIELDS; j++) f[j] = sh->onset[i][j];
      if ((a = array_of(env, f, SB_ONSET_FIELDS)) == NULL) return bad(env, "shieldStats");
      SCHECK(napi_set_element(env, sl, i, a));
    }
    SCHECK(napi_set_named_property(env, tr, "slices", sl));
    /* onset3: each /24 blocked while the trace ran, with its evidence: [p24 as a number, at ms,
     * rule's char code, hosts, its strangers' datagrams read lately, all strangers', this second's
     * missing-or-answered count, shed count, rate-limited count, its first read at ms, read while
     * behind]. */
    napi_value bl;
    SCHECK(napi_create_array_with_length(env, sh->nonset_blocks, &bl));
    for (unsigned i = 0; i < sh->nonset_blocks && i < SB_ONSET_BLOCKS; i++) {
      const struct sb_onset_block *e = &sh->onset_blocks[i];
      double f[11] = {e->p24, e->at, e->rule, e->hosts, e->recent, e->total, e->nx, e->sheds, e->rrl, e->first, e->behind};
      if ((a = array_of(env, f, 11)) == NULL) return bad(env, "shieldStats");
      SCHECK(napi_set_element(env, bl, i, a));
    }
    SCHECK(napi_set_named_property(env, tr, "blocks", bl));
    SCHECK(napi_set_named_property(env, o, "onset", tr));
    sh->onset_reported = 1;
  }
  if ((a = array_of(env, sh->cookies, 5)) == NULL) return bad(env, "shieldStats");
  if (sh->standing_error != NULL) {
    napi_value why;
    SCHECK(napi_create_string_utf8(env, sh->standing_error, NAPI_AUTO_LENGTH, &why));
    SCHECK(napi_set_named_property(env, o, "standingError", why));
  }
  SCHECK(napi_set_named_property(env, o, "cookies", a));
  if ((a = array_of(env, sh->adm.shed_budget, 4)) == NULL) return bad(env, "shieldStats");
  SCHECK(napi_set_named_property(env, o, "shedBudget", a));
  if ((a = array_of(env, sh->adm.shed_overload, 4)) == NULL) return bad(env, "shieldStats");
  SCHECK(napi_set_named_property(env, o, "shedOverload", a));
  napi_value att, x;
  SCHECK(napi_create_array(env, &att));
  uint32_t k = 0;
  for (uint32_t s = 0; s < sh->zones.table.size; s++) {
    if (!sh->zones.attacked[s]) continue;
    SCHECK(napi_create_uint32(env, sh->zones.key[s], &x));
    SCHECK(napi_set_element(env, att, k++, x));
  }
  SCHECK(napi_set_named_property(env, o, "attacked", att));
  napi_value ev;
  SCHECK(napi_create_array_with_length(env, sh->zones.nevents, &ev));
  for (unsigned i = 0; i < sh->zones.nevents; i++) {
    napi_value pair, zk, st;
    SCHECK(napi_create_array_with_length(env, 2, &pair));
    SCHECK(napi_create_uint32(env, sh->zones.key[sh->zones.events[i]], &zk));
    SCHECK(napi_create_uint32(env, sh->zones.event_state[i], &st));
    SCHECK(napi_set_element(env, pair, 0, zk));
    SCHECK(napi_set_element(env, pair, 1, st));
    SCHECK(napi_set_element(env, ev, i, pair));
  }
  sh->zones.nevents = 0;
  SCHECK(napi_set_named_property(env, o, "events", ev));
  /* The busiest zones: [key, queries/s, missing names/s], busiest first. */
  uint32_t slots[10];
  double q[10], nx[10];
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  unsigned nt = sb_zones_top(&sh->zones, (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6, slots, q, nx, 10);
  napi_value top;
  SCHECK(napi_create_array_with_length(env, nt, &top));
  for (unsigned i = 0; i < nt; i++) {
    napi_value row, v;
    SCHECK(napi_create_array_with_length(env, 3, &row));
    SCHECK(napi_create_uint32(env, sh->zones.key[slots[i]], &v));
    SCHECK(napi_set_element(env, row, 0, v));
    SCHECK(napi_create_double(env, q[i], &v));
    SCHECK(napi_set_element(env, row, 1, v));
    SCHECK(napi_create_double(env, nx[i], &v));
    SCHECK(napi_set_element(env, row, 2, v));
    SCHECK(napi_set_element(env, top, i, row));
  }
  SCHECK(napi_set_named_property(env, o, "top", top));
  /* Zones opted into the metrics (--shield-zone …,metrics=on) that are tracked now. */
  napi_value watched;
  SCHECK(napi_create_array(env, &watched));
  uint32_t nw = 0;
  double now_ms = (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
  for (unsigned i = 0; i < sh->cfg.nzone_settings; i++) {
    const sb_zone_setting *st = &sh->zone_settings[i];
    if (!st->metrics) continue;
    int32_t slot = sb_table_find(&sh->zones.table, st->key);
    if (slot < 0 || sh->zones.key[slot] != st->key) continue;
    double wq, wnx;
    sb_zones_rates(&sh->zones, (uint32_t)slot, now_ms, &wq, &wnx);
    napi_value row, v;
    SCHECK(napi_create_array_with_length(env, 3, &row));
    SCHECK(napi_create_uint32(env, st->key, &v));
    SCHECK(napi_set_element(env, row, 0, v));
    SCHECK(napi_create_double(env, wq, &v));
    SCHECK(napi_set_element(env, row, 1, v));
    SCHECK(napi_create_double(env, wnx, &v));
    SCHECK(napi_set_element(env, row, 2, v));
    SCHECK(napi_set_element(env, watched, nw++, row));
  }
  SCHECK(napi_set_named_property(env, o, "watched", watched));
  return o;
}

static napi_value js_note_tcp(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], u;
  SCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *a;
  size_t n;
  if (argc < 1 || !typed(env, argv[0], napi_uint8_array, (void **)&a, &n) || (n != 4 && n != 16))
    return bad(env, "shieldNoteTcp(address: Uint8Array(4|16))");
  sb_shield *sh = sb_shield_thread();
  if (sh != NULL) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sb_sources_note_tcp(&sh->sources, sb_sources_key(a, n), (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6);
  }
  SCHECK(napi_get_undefined(env, &u));
  return u;
}

static napi_value js_tcp_admit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  SCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *a;
  size_t n;
  if (argc < 1 || !typed(env, argv[0], napi_uint8_array, (void **)&a, &n) || (n != 4 && n != 16))
    return bad(env, "shieldTcpAdmit(address: Uint8Array(4|16))");
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int ok = sb_shield_tcp_admit(a, n, (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6);
  SCHECK(napi_get_boolean(env, ok != 0, &r));
  return r;
}

static napi_value js_set_secrets(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  SCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *sec;
  size_t n;
  if (argc < 1 || !typed(env, argv[0], napi_uint8_array, (void **)&sec, &n) || n % 16 != 0 || n < 16 || n > 48)
    return bad(env, "shieldSetSecrets(secrets: Uint8Array(16n), 1 <= n <= 3)");
  int rc = sb_shield_set_secrets(sec, (unsigned)(n / 16));
  SCHECK(napi_get_boolean(env, rc == 0, &r));
  return r;
}

/* shieldSetZones(zones: Float64Array(9n)): new per-zone settings, the tables kept. */
static napi_value js_set_zones(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  SCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double *zs;
  size_t nzs;
  if (argc < 1 || !typed(env, argv[0], napi_float64_array, (void **)&zs, &nzs) || nzs % 9 != 0 ||
      nzs / 9 > SB_SHIELD_MAX_ZONE_SETTINGS)
    return bad(env, "shieldSetZones(zones: Float64Array(9n), n <= 1024)");
  sb_zone_setting *settings = zone_settings_of(zs, nzs / 9);
  if (settings == NULL) {
    napi_throw_range_error(env, "ERR_NATIVE_UDP_ARGS", "shieldSetZones: settings out of range (or out of memory)");
    return NULL;
  }
  int rc = sb_shield_set_zone_settings(settings, (unsigned)(nzs / 9));
  free(settings);
  if (rc < 0) {
    napi_throw_range_error(env, "ERR_NATIVE_UDP_ARGS", "shieldSetZones: a zone twice (or out of memory)");
    return NULL;
  }
  SCHECK(napi_get_boolean(env, rc == 0, &r));
  return r;
}

static void cleanup(void *arg) {
  (void)arg;
  sb_shield_configure(NULL);
}

int sb_shield_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"shieldConfigure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
      {"shieldStats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"shieldNoteTcp", NULL, js_note_tcp, NULL, NULL, NULL, napi_default, NULL},
      {"shieldTcpAdmit", NULL, js_tcp_admit, NULL, NULL, NULL, napi_default, NULL},
      {"shieldSetSecrets", NULL, js_set_secrets, NULL, NULL, NULL, napi_default, NULL},
      {"shieldSetZones", NULL, js_set_zones, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return 0;
  napi_add_env_cleanup_hook(env, cleanup, NULL);
  return 1;
}
