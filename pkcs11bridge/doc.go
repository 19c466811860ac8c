// Package pkcs11bridge verifies a provisioned SmartCard-HSM token through a
// PKCS#11 module, normally OpenSC's opensc-pkcs11.so.
//
// A PKCS#11 module is a shared library that exposes readers as slots. A slot
// with a card in it holds a token, which has a label, a serial number and
// flags (PIN state, login required). An application opens a session on the
// token, logs in with the user PIN and then can list the token's objects
// (keys, certificates, data objects).
//
// Verification runs in three steps:
//
//  1. FindModule locates the module file: an explicit path, the
//     SC_HSM_INIT_PKCS11_MODULE environment variable, p11-kit's module
//     configuration, then the usual install paths per platform.
//  2. VerifyInChild starts a child process (sc-hsm-init
//     internal-pkcs11-verify, which calls ServeChild) and passes the Request,
//     PIN included, as JSON on its standard input. The child loads the module
//     fresh, so it reads the card as provisioned and not a state cached by an
//     earlier load. A crash inside the module ends only the child.
//  3. Verify, in the child, finds the slot by reader name and token serial,
//     reads token information and mechanisms, logs in, lists the objects and
//     records every step as a Check in the Report.
//
// The package does not import the card protocol packages: the caller passes
// the reader name, the serial that OpenSC derives from the device certificate
// and the PIN.
package pkcs11bridge
