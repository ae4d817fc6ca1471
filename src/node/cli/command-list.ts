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
        per epoch: sessions, units (blocks) and bytes; where settling them stands
        (pending, proving, submitted, settled, rejected) and the proven batches. Asks the
        node running on DIR, or reads DIR/das when none runs. --json prints the summary
        and every claim (its state, batch id, proof and transaction) as JSON.

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
  --consensus MODE      solo (order the transactions received), follow (re-execute
                        another node's blocks) or committee (order with the epoch's
                        committee) (FULMEN_CONSENSUS; default solo)
  --follow URL[,URL]    Gateways of the nodes to follow, in order; the next is followed
                        when one fails or stops advancing (FULMEN_FOLLOW)
  --bls-key FILE        BLS secret key of a committee node (FULMEN_BLS_KEY; default
                        <data dir>/bls.key)
  --settle-every-ms MS  How often the pool's DA claims are submitted (FULMEN_SETTLE_EVERY_MS;
                        default 5000)
  --ping-every-ms MS    How often the other active nodes are pinged with signed pings
                        (FULMEN_PING_EVERY_MS; default 10000)
  --no-measure          Neither ping nor answer pings nor submit measurements
                        (FULMEN_MEASURE=false)
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
  {
    name: 'keys',
    summary: 'Make or show chain keys: accounts (secp256k1), node identities, BLS keys',
    help: `Usage: fulmen keys account new --out FILE [--json]
       fulmen keys account show --key FILE [--json]
       fulmen keys node new --out FILE [--json]
       fulmen keys node show --key FILE [--json]
       fulmen keys bls new --out FILE [--json]

account  A secp256k1 secret key (64 hex digits) in FILE; prints the account's 0x address,
         which Ethereum wallets compute the same way.
node     A node identity (Ed25519, libp2p's key file): copied to <data-dir>/identity.key it is
         the node's peer id; prints the node key (hex) and the peer id.
bls      A BLS12-381 secret key (hex), for a node's first stake (fulmen tx stake --bls-key).

Key files are created with mode 0600 and never overwritten (an existing FILE is an error).

Options:
  --out FILE  Where to write the new key
  --key FILE  The key file to read
  --json      Print the result as JSON
  -h, --help  Show this help`,
    load: () => import('./commands/keys.ts'),
  },
  {
    name: 'tx',
    summary: 'Sign and send a chain transaction, wait for its receipt',
    help: `Usage: fulmen tx METHOD [method options] --key FILE --from URL [--json] [--no-wait]
       fulmen tx receipt DIGEST --from URL [--wait] [--json]

Builds the transaction, reads the chain id (GET /chain/head) and the sender's nonce
(GET /chain/state/...) from the node, signs it with the key in FILE, submits it
(POST /chain/tx) and waits for its receipt. Exits 1 with the revert code (TX_NONCE,
TX_INSUFFICIENT_BALANCE, ...) when the transaction did not take effect.

Methods (amounts in tokens, 18 decimals: 1.5; tokens FLK or USDC):
  deposit --to 0xADDR --amount A [--token T]    Mint (the genesis bridge key only)
  transfer --to 0xADDR --amount A [--token T]   Send tokens
  register-client-key [--client-key FILE | --client-public-key HEX]
                                                Pay for what a client key acknowledges
                                                (default: the key 'fulmen fetch' uses)
  stake --node NODE --amount A [--bls-key FILE --address ADDR...]
                                                Stake FLK on a node; the first stake
                                                registers it (BLS key and addresses)
  stake-lock --node NODE --epochs N             Lock the node's stake for N epochs
  unstake --node NODE --amount A                Start unstaking
  withdraw --node NODE [--to 0xADDR]            Withdraw what finished unstaking
  opt-in | opt-out                              Node-signed: --key is the node's identity
                                                file (<data-dir>/identity.key)
  param --name NAME --value N                   Change a protocol parameter (governance
                                                key only; N in base units / millionths)
NODE is the node key (64 hex digits) or its peer id.

Options:
  --key FILE      The signer's key: an account key (fulmen keys account new), or a
                  node identity for opt-in and opt-out
  --from URL      The node's HTTP gateway (FULMEN_GATEWAY), e.g. http://127.0.0.1:4069
  --json          Print the receipt as JSON
  --no-wait       Print the digest once the node accepted it; do not wait
  --timeout TIME  How long to wait for the receipt: 60, 60s, 500ms, 2m (default 60s)
  --nonce N       The transaction's nonce (default: the sender's current nonce + 1, read
                  from the node); for several transactions sent with --no-wait
  -h, --help      Show this help`,
    load: () => import('./commands/tx.ts'),
  },
  {
    name: 'state',
    summary: 'Read a chain state entry from a node, checking its proof',
    help: `Usage: fulmen state TABLE KEY --from URL [--proof] [--json]

Asks the node (GET /chain/state/<table>/<key>) for one entry of the latest state. With
--proof, checks the entry's proof (or the proof of its absence) against the state root
the node answered with, and prints the entry, the proof and the root; a proof that does
not check exits 1 (STATE_PROOF_MISMATCH).

Tables and their keys (aliases first):
  account 0xADDR             accounts: balances (FLK, stables) and nonce
  node NODE                  nodes: owner, stake, locks, participation (NODE: hex or peer id)
  epoch                      metadata "chain": epoch, height, beacon phase, supply
  committee [EPOCH]          committees (default: the current epoch)
  served NODE [EPOCH [C]]    served work of a node (default: current epoch, commodity 0)
  param NAME                 params
  client-key HEX             clientKeys: the account that pays for a client key
  price C                    prices (0 bandwidth, 1 compute)
  <table> <key>              any table by its name (accounts, nodes, metadata, committees,
                             params, served, epochTotals, reputation, executed, ...)

Options:
  --from URL  The node's HTTP gateway (FULMEN_GATEWAY)
  --proof     Check the proof; print it and the root
  --json      Print {table, key, height, root, value, entry[, proof, verified]}
  -h, --help  Show this help`,
    load: () => import('./commands/state.ts'),
  },
  {
    name: 'chain',
    summary: "Show a node's latest block (head) or a block by height",
    help: `Usage: fulmen chain head --from URL [--json]
       fulmen chain block HEIGHT --from URL [--json]

head   The latest executed block: chain id, epoch, height, hash, state root, time.
       --json prints {"chainId","epoch","height","hash","stateRoot","timestampMs"}.
block  One block: its header, transactions and receipts.

Options:
  --from URL  The node's HTTP gateway (FULMEN_GATEWAY)
  --json      Print JSON
  -h, --help  Show this help`,
    load: () => import('./commands/chain.ts'),
  },
  {
    name: 'light',
    summary: 'Light client: verify the chain from genesis by checkpoints, then state entries',
    help: `Usage: fulmen light sync --genesis FILE --from URL [--from URL...] [--checkpoint FILE] [--data DIR] [--json]
       fulmen light verify TABLE KEY --genesis FILE --from URL [--from URL...] [--checkpoint FILE] [--data DIR]

Trusts the genesis file alone (or, with --checkpoint, that handoff as well). Walks the committee-signed checkpoints the nodes serve
(GET /chain/checkpoints), one epoch's handoff at a time, from genesis or from the last
handoff stored in DIR, to the newest checkpoint; a node that serves a checkpoint that does
not verify, or that cannot be reached, is dropped and the next --from is asked.

sync    Prints the verified head: epoch, height, state root and how many checkpoints
        this run verified. --json prints {"epoch","height","stateRoot","checkpoints"}.
verify  Syncs, then asks for one state entry (GET /chain/state/TABLE/KEY?height=H) and
        checks its proof (or the proof of its absence) against the head's state root;
        prints {table, key, epoch, height, root, value, entry, verified} as JSON.
        TABLE and KEY as 'fulmen state' takes them (account 0xADDR, node NODE, ...).

Exits 1 with the error's code when no node is left (LIGHT_NO_SOURCE, naming each node's
failure: CHECKPOINT_SIGNATURE, CHECKPOINT_GAP, LIGHT_PROOF_INVALID, ...).

Options:
  --genesis FILE  The chain's genesis.json
  --from URL      A node's HTTP gateway; repeat for failover, in order
  --checkpoint FILE
                  Start from this trusted handoff instead of genesis: one item of
                  GET /chain/checkpoints, {"checkpoint":"<hex>","committee":["<hex>",...]},
                  from a source you trust (an old chain's first sync walks from there)
  --data DIR      Keep the verified head in DIR (LevelDB) and start from it next time
  --json          (sync) Print the head as JSON
  -h, --help      Show this help`,
    load: () => import('./commands/light.ts'),
  },
  {
    name: 'devnet',
    summary: 'Run a local chain: keys, genesis and nodes, until Ctrl-C',
    help: `Usage: fulmen devnet start --dir DIR [--nodes N] [--edge M] [--unstaked K]
                           [--epoch-ms MS] [--host ADDR] [--consensus solo|committee]

Writes the keys of a development chain into DIR (node identities in each node's data
dir; bridge, governance and demo account keys in DIR/keys), free ports for every node
(DIR/ports.json), DIR/genesis.json (each node's libp2p address on its port), then starts
N committee nodes, M edge nodes and K unstaked nodes as 'fulmen node start' processes. --consensus solo:
node-1 orders the blocks itself and the others follow the committee's gateways;
committee: every node runs --consensus committee with its bls.key (and the other
committee gateways as --follow, for when it is outside the epoch's committee).
Unstaked nodes (unstaked-1…, role "unstaked") are not in the genesis (no stake, no node
entry) but run like edge nodes, following the staked nodes: a light client refuses them.
Once every node answers GET /chain/head, writes DIR/devnet.json:
  {"genesis", "consensus", "nodes": [{"name", "role", "consensus", "gateway",
   "multiaddr", "peerId", "blsKey", "dataDir"}], "accounts"}
and runs until SIGINT or SIGTERM, then stops the nodes. Run again on the same DIR, it
reuses the keys, ports and genesis and the nodes resume their chain.

Options:
  --dir DIR        Where keys, genesis, data dirs and devnet.json go (required)
  --nodes N        Committee nodes (default 1)
  --edge M         Edge nodes (default 0)
  --unstaked K     Full nodes outside the genesis, not staked (default 0)
  --epoch-ms MS    Epoch length in milliseconds (default 120000)
  --consensus MODE solo or committee (default solo)
  --host ADDR      Listen address of the nodes (default 127.0.0.1)
  -h, --help       Show this help`,
    load: () => import('./commands/devnet.ts'),
  },
]
