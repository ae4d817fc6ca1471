/**
 * Every `fulmen` command as the dispatcher sees it: name, summary and help text here, the
 * implementation imported only when the command runs. Importing them all up front loaded
 * libp2p, LevelDB and pino for `fulmen --help` (0.9-2 s where bare Node takes 0.1 s).
 */
import type { Command } from './command.ts'

export const commands: readonly Command[] = [
  {
    name: 'hash',
    summary: 'Print the BLAKE3 hash (content id) of files, like b3sum',
    help: `Usage: fulmen hash [FILE]...

Prints "<hex>  <name>" for each FILE, exactly like b3sum. With no FILE, or when FILE
is -, reads standard input. A file that cannot be read is reported on stderr and
the others are still hashed; the exit code is then 1.

Options:
  -h, --help  Show this help`,
    load: () => import('./commands/hash.ts'),
  },
  {
    name: 'tree',
    summary: "Print a file's blake3-tree (256 KiB blocks, post-order)",
    help: `Usage: fulmen tree FILE [--json]

Hashes FILE (- for standard input) into Fleek's blake3-tree: one hash per
256 KiB block plus the parents, in the flat post-order array (2n-1 hashes, block k
at index 2k - popcount(k), root last).

Options:
  --json      Print {"root", "blocks", "length", "tree": [hex, ...]} on one line
  -h, --help  Show this help`,
    load: () => import('./commands/tree.ts'),
  },
  {
    name: 'proof',
    summary: 'Print the proof for one block of a file (hex)',
    help: `Usage: fulmen proof FILE --block K [--resume]

Prints, as lowercase hex, the proof for block K (0-based, 256 KiB blocks) of FILE
(- for standard input). An empty proof prints an empty line.

Options:
  --block K   The block the proof leads to (required)
  --resume    The resume proof, sent before block K once blocks 0..K-1 are verified
              (K >= 1); without it, the initial proof that starts a stream at block K
  -h, --help  Show this help`,
    load: () => import('./commands/proof.ts'),
  },
  {
    name: 'cid',
    summary: 'Convert a content id between hex, blake3:<hex> and CID',
    help: `Usage: fulmen cid ID [--to hex|blake3|cid]

Reads a content id written as 64 hex characters, blake3:<hex>, or a CIDv1 (raw,
blake3) in any multibase (bafkr4..., z..., k...), and prints it in the spelling
asked for. Without --to, prints all three, labelled.

Options:
  --to SPELLING  hex, blake3 or cid (CIDv1 raw blake3, base32)
  -h, --help     Show this help`,
    load: () => import('./commands/cid.ts'),
  },
  {
    name: 'node',
    summary: 'Run a full node (start), show a running one (status) or its DA claims (das)',
    help: `Usage: fulmen node start [options]
       fulmen node status [--data-dir DIR | --url URL] [--json]
       fulmen node das [--data-dir DIR] [--json]

start   Runs a full node until SIGINT/SIGTERM: a block store of verified content, origins
        (IPFS trustless gateways, HTTP(S) with Subresource Integrity), the HTTP gateway
        (/services/0/blake3/<id>, /metrics, /health, /status) and libp2p (WebSockets,
        WebRTC-direct, circuit relay). Logs are JSON lines on stderr.
status  Prints the peer id, addresses and store usage of the node running on DIR.
das     Prints the delivery acknowledgements (DA claims) the node holds, per client and
        per epoch: sessions, units (blocks) and bytes. Asks the node running on DIR, or
        reads DIR/das when none runs. --json prints the summary as JSON.

Options (start; each also comes from FULMEN_* variables and the config file):
  --config FILE         JSON configuration (default: <data-dir>/config.json if present)
  --data-dir DIR        Keys, store and database (FULMEN_DATA_DIR; default
                        $XDG_DATA_HOME/fulmen or ~/.local/share/fulmen)
  --host ADDR           Listen address (FULMEN_HOST; default 127.0.0.1)
  --http-port N         HTTP gateway port, 0 = any (FULMEN_HTTP_PORT; default 4069)
  --ws-port N           libp2p WebSockets port (FULMEN_WS_PORT; default 4070)
  --webrtc-port N       libp2p WebRTC-direct UDP port (FULMEN_WEBRTC_PORT; default 4071)
  --cache-size SIZE     Store limit, e.g. 10GiB (FULMEN_CACHE_SIZE; default 10GiB)
  --ipfs-gateway URL    Trustless IPFS gateway, repeatable (FULMEN_IPFS_GATEWAYS, comma list)
  --no-http-origins     Refuse HTTP(S) pointers (FULMEN_HTTP_ORIGINS=false)
  --max-sessions-per-client N
                        Sessions one client key may hold (FULMEN_MAX_SESSIONS_PER_CLIENT; 16)
  --max-streams-per-session N
                        Streams one session may open (FULMEN_MAX_STREAMS_PER_SESSION; 8)
  --max-sessions N      Sessions the node holds; the longest idle goes first
                        (FULMEN_MAX_SESSIONS; default 1024)
  --max-streams N       Streams open on the node (FULMEN_MAX_STREAMS; default 1024)
  --genesis FILE        Run the chain from this genesis.json: /chain/* routes and
                        /fulmen/chain/1.0.0 (FULMEN_GENESIS; default: no chain)
  --consensus MODE      solo (order the transactions received) or follow (re-execute
                        another node's blocks) (FULMEN_CONSENSUS; default solo)
  --follow URL          Gateway of the node to follow (FULMEN_FOLLOW)
  --settle-every-ms MS  How often the pool's DA claims are submitted (FULMEN_SETTLE_EVERY_MS;
                        default 5000)
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (FULMEN_LOG_LEVEL)
  -h, --help            Show this help`,
    load: () => import('./commands/node.ts'),
  },
  {
    name: 'add',
    summary: "Import files into the node's block store; print each root and CID",
    help: `Usage: fulmen add [--pin] [--data-dir DIR] [--init] FILE...

Hashes and stores each FILE (- for standard input) in the block store of the node
on DIR, through the running node if there is one. Prints "<hex>  <cid>  <name>".
DIR must exist (a node started there, or an earlier add) unless --init is given:
a mistyped DIR is refused rather than made into a new, empty node.

Options:
  --pin           Never evict these files from the store
  --data-dir DIR  The node's data directory (FULMEN_DATA_DIR; default as 'fulmen node')
  --init          Create DIR when it does not exist (FULMEN_INIT=1)
  -h, --help      Show this help`,
    load: () => import('./commands/add.ts'),
  },
  {
    name: 'fetch',
    summary: 'Download content through a node, verifying every block',
    help: `Usage: fulmen fetch <id|pointer> (--from URL | --node MULTIADDR...) [-o FILE] [--range START-END]

Fetches a content id (hex, blake3:<hex>, bafkr4... CID), an IPFS CID, or an HTTP(S)
URL with #integrity=sha256-... from the node whose HTTP gateway is at URL, or over
libp2p sessions from the nodes given with --node: the nearest first, and when a node
lies, stalls or disconnects the fetch resumes on the next one from the first
unverified block. Sessions sign delivery acknowledgements with the client key.
Every 256 KiB block is verified against the root before it is written; FILE appears
only once all of it is verified (written to FILE.partial first, removed on failure).
Without -o, or with -o -, verified bytes go to standard output; a pointer (IPFS, an
URL with #integrity) is held in a temporary file until its digest is checked.

Options:
  --from URL             The node's HTTP gateway, e.g. http://127.0.0.1:4069
  --node MULTIADDR       A node's libp2p address with /p2p/<id> (repeat for failover)
  --key FILE             Client key for sessions (default ~/.fulmen/client.key, or
                         $FULMEN_CLIENT_KEY); created when missing
  -o, --output FILE      Where to write (default: standard output)
  --range START-END      Only these bytes (inclusive), still verified block by block
  --stall-timeout TIME   Give up on a node that sends nothing for TIME: 30, 30s or
                         500ms (default: 30s for --from; 5s per node, then the
                         next one, for --node)
  -h, --help             Show this help`,
    load: () => import('./commands/fetch.ts'),
  },
]
