// Package pkakey handles the files and keys of public key authentication
// (n-of-m authentication) on SmartCard-HSM tokens: the registration file
// that sc-hsm-tool --register-public-key reads, the key files of rehearsal
// custodians, and signers for the authentication challenge.
//
// # Registration file
//
// A registration file contains what a token needs to register a custodian's
// public key. That is the authenticated CV request of the key, made by the
// device (token) that holds the key, with the device's certificate and the
// certificate of the device issuer CA (DICA). ParseRegistration reads both
// encodings that OpenSC (pkcs15-sc-hsm.c) accepts:
//
//	old: 30 { 67 request, 7F21 device CVC, 7F21 DICA CVC }
//	new: 30 { 06 1.3.6.1.4.1.24991.4.3.1, 61 { 7F21 DICA }, 62 { 7F21 device }, 63 { 67 request } }
//
// Registration.Encode writes the old encoding, which is also what
// sc-hsm-tool --export-for-pub-key-auth writes.
//
// # Rehearsal custodians
//
// A rehearsal custodian is a complete stand-in for a custodian's token,
// for tests and for rehearsing a ceremony against the virtual card: a
// P-256 custodian key, a device key whose certificate is signed by the
// rehearsal DICA, and the authenticated request. The rehearsal root CA and
// DICA keys are derived from a fixed seed that is published in this source
// file (RehearsalSeed), so anybody can sign certificates under them.
// They give no security at all. The virtual card trusts the rehearsal
// root so that ceremonies can be rehearsed with it; a real SmartCard-HSM
// trusts only the CardContact root and rejects rehearsal files.
package pkakey
