/* remotescan: scans this node asks another member of the mesh to run
   (POST /api/scans with "node"). The other node runs them with its own
   limits (POST /mesh/scans there); this node keeps a row of its own for
   each (the node, the scan's id there) and a follower thread mirrors its
   state and progress every REMOTE_SCAN_POLL_MS while it is queued or
   running, then copies its per-port results under this node's scan id,
   so they stay readable here when that node is gone. The hosts it found
   are that node's networks: they are not merged into this node's hosts.
   A scan whose node cannot be reached for remote_scan_lost_s fails, with
   an error saying so.

   Threads: the follower thread owns the follow table (when each scan's
   node last answered); submit and cancel run on API threads and block on
   one signed request each (REMOTE_SCAN_TIMEOUT_MS at most). Writes of a
   row's mirrored state take rs->lock, so a cancel and the follower do not
   overwrite each other's newer state. */
#ifndef MESHWATCH_REMOTESCAN_H
#define MESHWATCH_REMOTESCAN_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "meshwatch/membership.h"
#include "meshwatch/store.h"
#include "meshwatch/tlsclient.h"
#include "meshwatch/util.h"

struct node;
struct remotescan;

/* NULL when out of memory (err says so). */
struct remotescan *remotescan_create(struct node *n, char *err, size_t errlen) MW_MUST_CHECK;
/* Starts the follower thread. 0, or MW_EIO with a reason. */
int remotescan_start(struct remotescan *rs, char *err, size_t errlen) MW_MUST_CHECK;
/* Stops the follower (within a request timeout; the rows stay queued or
   running and are followed again at the next start). Idempotent; accepts
   NULL. */
void remotescan_stop(struct remotescan *rs);
void remotescan_destroy(struct remotescan *rs);

/* Asks peer p to run a scan: body is the request as the user gave it,
   less "node" (subnets, ports, confirm), sent as a signed POST
   /mesh/scans. Returns
   - 0: p queued it (201); this node's row for it is in *out;
   - MW_EINVAL: p refused it: its status and answer are in *hr, to pass on;
   - MW_EIO or MW_EAUTH: p could not be asked, or its answer is not
     signed (hr->detail says what failed);
   - MW_ETOOBIG: this node follows REMOTE_SCANS_FOLLOW_MAX scans already;
   - MW_EDB: the store refused this node's row (the scan runs there).
   Blocks up to REMOTE_SCAN_TIMEOUT_MS. The caller frees *hr
   (https_result_free) in every case. */
int remotescan_submit(struct remotescan *rs, const struct peer *p, const char *body, size_t blen, struct scan_row *out,
    struct https_result *hr) MW_MUST_CHECK;

/* Cancels this node's remote scan row (queued or running) on its node
   (a signed DELETE /mesh/scans/{id}). 0 with the row as that node now
   tells it in *out (a running scan stops there within scan_timeout_ms;
   the follower brings its final state); MW_EINVAL when the node refused
   (its answer in *hr); MW_EIO/MW_EAUTH when it could not be asked;
   MW_ENOTFOUND when the node is no longer in the peer table. The caller
   frees *hr in every case. */
int remotescan_cancel(struct remotescan *rs, const struct scan_row *row, struct scan_row *out, struct https_result *hr)
    MW_MUST_CHECK;

/* Reads a scan as a node's API shows it (id, state, subnets, ports,
   port_count, times, progress, port_states, error) into the fields of
   *out it names; out's other fields are left alone. 0, or MW_EINVAL with
   a reason in why when o is not such a scan. For the follower and tests. */
int remotescan_parse_scan(const cJSON *o, struct scan_row *out, char *why, size_t whylen) MW_MUST_CHECK;

#endif
