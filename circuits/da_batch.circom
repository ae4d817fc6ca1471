pragma circom 2.1.0;

// Delivery acknowledgement batches (docs/protocol.md, "Delivery acknowledgements"; issue 18).
//
// For S slots, each a commitment a client signed with EdDSA-Poseidon (src/acks/commitment.ts):
// the signature verifies under the client key the commitment names, over the commitment's
// message, and the public output binds every enabled slot's commitment bytes, so an executor that
// hashes the claims it was given (src/acks/batch-binding.ts) needs nothing else to trust their
// signatures. Units are not here: they come from the hash-chain reveals, checked natively.
//
// A commitment's 130 bytes enter as eight field elements, each a big-endian integer of a byte
// range (below 2^144, so below the field order): f0 = bytes 0..18 (version, service, commodity,
// unit, chain length, seq), f1 = 18..34 (epoch, session), the node key's halves 34..50 and
// 50..66, the client key's 66..82 and 82..98, the anchor's 98..114 and 114..130. The message the
// client signed is Poseidon(f0, f1, node key halves, anchor halves); the client key is not in it
// (the signature binds it), but it is in the binding, tied to the point (Ax, Ay) the verifier uses.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/compconstant.circom";

// The client key as the commitment carries it: circomlib's packPoint, y little-endian in 32
// bytes with bit 255 set when x > (p − 1) / 2, read as two big-endian 16-byte integers hi, lo.
// Constrains (Ax, Ay) to be the point those bytes name. That y < p (one encoding per key) is
// checked natively by the executor, for the bytes it binds, at no cost here.
template PackedKey() {
    signal input hi;
    signal input lo;
    signal input Ax;
    signal input Ay;

    component hb = Num2Bits(128);
    hb.in <== hi;
    component lb = Num2Bits(128);
    lb.in <== lo;

    // Key byte k, bit j: hi's bit (15 − k)·8 + j for k < 16, lo's bit (31 − k)·8 + j after.
    var y = 0;
    var weight = 1;
    for (var k = 0; k < 32; k++) {
        for (var j = 0; j < 8; j++) {
            if (k < 31 || j < 7) {
                if (k < 16) {
                    y += hb.out[(15 - k) * 8 + j] * weight;
                } else {
                    y += lb.out[(31 - k) * 8 + j] * weight;
                }
            }
            weight = weight * 2;
        }
    }
    Ay === y;

    // The sign: byte 31's top bit is x > (p − 1) / 2.
    component xb = Num2Bits_strict();
    xb.in <== Ax;
    component high = CompConstant(10944121435919637611123202872628637544274182200208017171849102093287904247808);
    for (var i = 0; i < 254; i++) high.in[i] <== xb.out[i];
    high.out === lb.out[7];
}

template DaBatch(S) {
    // 1 for a slot holding a claim; the enabled slots come first, padding after.
    signal input enabled[S];
    // The commitment's eight field elements (see above).
    signal input fields[S][8];
    // The client key as a point, and the signature (R8, S) as circomlib's verifier takes it.
    signal input Ax[S];
    signal input Ay[S];
    signal input R8x[S];
    signal input R8y[S];
    signal input sig[S];

    // The one public signal: Poseidon(acc, fields) chained over the enabled slots from acc = 0.
    signal output digest;

    component message[S];
    component key[S];
    component verifier[S];
    component link[S];
    signal acc[S + 1];
    acc[0] <== 0;

    for (var i = 0; i < S; i++) {
        enabled[i] * (enabled[i] - 1) === 0;
        if (i > 0) {
            // Padding only after the claims: a slot is enabled only if the one before it is.
            enabled[i] * (1 - enabled[i - 1]) === 0;
        }

        message[i] = Poseidon(6);
        message[i].inputs[0] <== fields[i][0];
        message[i].inputs[1] <== fields[i][1];
        message[i].inputs[2] <== fields[i][2];
        message[i].inputs[3] <== fields[i][3];
        message[i].inputs[4] <== fields[i][6];
        message[i].inputs[5] <== fields[i][7];

        key[i] = PackedKey();
        key[i].hi <== fields[i][4];
        key[i].lo <== fields[i][5];
        key[i].Ax <== Ax[i];
        key[i].Ay <== Ay[i];

        // Checks nothing when the slot is padding; then the slot adds nothing to the digest.
        verifier[i] = EdDSAPoseidonVerifier();
        verifier[i].enabled <== enabled[i];
        verifier[i].Ax <== Ax[i];
        verifier[i].Ay <== Ay[i];
        verifier[i].S <== sig[i];
        verifier[i].R8x <== R8x[i];
        verifier[i].R8y <== R8y[i];
        verifier[i].M <== message[i].out;

        link[i] = Poseidon(9);
        link[i].inputs[0] <== acc[i];
        for (var j = 0; j < 8; j++) link[i].inputs[j + 1] <== fields[i][j];
        acc[i + 1] <== acc[i] + enabled[i] * (link[i].out - acc[i]);
    }
    digest <== acc[S];
}
