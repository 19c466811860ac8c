// Package virtualcard is the applet of a virtual SmartCard-HSM: a state
// machine that takes command APDUs and returns response APDUs. It holds the
// token state (options, PINs and retry counters, DKEK shares and key
// domains, public key authentication settings, data objects and the device
// certificate) and can persist it to a state file.
//
// The vpcd link (package vpcd) drives a Card through ATR, PowerOn, PowerOff,
// Reset and Transmit. Unit tests call the same methods in-process.
//
// # Identity
//
// The card presents the standard contact SmartCard-HSM ATR. Its SELECT
// response carries a tag-85 value of type 00 (SmartCard-HSM applet for JCOP)
// and version 4.1, so OpenSC (card-sc-hsm.c) names it "SmartCard-HSM Applet
// for JCOP version 4.1". It does not pretend to be a Pico HSM (type FF),
// because tools apply Pico-only rules to that type.
//
// The device key (P-256) and the card holder reference (CHR) of the
// self-signed device certificate in EF.C_DevAut are created with the state
// and survive re-initialization, as on a CardContact card whose identity is
// created at production. The CHR has the form
// "VSCHSM" + 5 random uppercase letters or digits + "00001", so the token
// serial that OpenSC derives (the CHR minus its last 5 characters) is unique
// per state file.
//
// # Behaviour
//
// Every command returns the status word of the Pico HSM 6.6 firmware
// except where the CardContact SmartCard-HSM is known or assumed to differ.
// Each such place carries a comment starting with "CardContact:" where the
// choice is made. The choices are:
//
//   - INITIALIZE of an initialized device checks the SO-PIN in tag 82, counts
//     a wrong one against the SO-PIN retry counter and returns 63Cx (6983
//     when blocked). The real status word is not documented.
//   - INITIALIZE rejects a PIN length outside 6 to 16 and a retry counter
//     above the limit for the PIN length (6: 3, 7: 5, longer: 10) with 6A80.
//   - INITIALIZE without data returns 6700 (Pico returns version data).
//   - CHANGE REFERENCE DATA of the user PIN ends transport-PIN mode.
//   - RESET RETRY COUNTER with a new PIN is rejected with 6986 while option
//     0x0020 ("reset retry counter only") is set.
//   - The DKEK status query of a device initialized without DKEK returns 6A88.
//     A blank device returns 6B00, as the Pico does.
//   - A card-generated DKEK (tag 92 = 0) reports 1 share, 0 outstanding and
//     its key check value.
//   - The key check value is all zeros while shares are outstanding.
//   - Deleting a key domain returns 9000 (Pico: 6A88).
//   - ENUMERATE OBJECTS on a fresh card returns CC00 only (Pico: C400 CC00).
//   - EF.TokenInfo (2F03) exists only after a host writes it, as OpenSC does
//     for a label; until then SELECT returns 6A82. The Pico generates one.
//
// # State file
//
// The state file contains the device private key, the DKEKs and all data
// objects in plain form, so it is as sensitive as the token itself. It is
// written with mode 0600, atomically (temporary file, fsync, rename), after
// every state change. PINs are stored as SHA-256 of a per-state random salt
// followed by the PIN. Session state (verified PINs, selected file, pending
// response) is never stored.
package virtualcard
