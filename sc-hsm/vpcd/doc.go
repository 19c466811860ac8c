// Package vpcd connects a virtual smart card to the vpcd reader driver of
// vsmartcard (Debian package vsmartcard-vpcd), which runs inside pcscd.
//
// The driver listens on TCP (port 35963 for the first reader by default) and
// the card connects to it as a client. Both directions send frames: a 2-byte
// big-endian length followed by that many bytes. A 1-byte frame from the
// driver is a control message (power off, power on, reset, get ATR), and a
// longer frame is a command APDU whose response APDU the card sends back.
//
// Serve keeps a Card connected for as long as its context lives, redialling
// when pcscd restarts. ServeConn runs the protocol over an existing
// connection, which unit tests use with net.Pipe or a local listener.
//
// Latency: the driver (vsmartcard-vpcd 3.3) sends the length and the payload
// of each frame in two TCP writes. With delayed acknowledgements on the
// receiving side, every APDU round trip on Linux loopback costs about 40 ms.
// This package therefore sends each reply in one write with TCP_NODELAY set
// and re-arms TCP_QUICKACK after every read, because Linux clears that flag
// after each receive.
package vpcd
