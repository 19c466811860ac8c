// Package schsm speaks the SmartCard-HSM command set (CardContact
// SmartCard-HSM, Nitrokey HSM 2 and the open-source Pico HSM) over a
// Transport, usually PC/SC.
//
// The package never prints or prompts. Card operations return structured
// results, and status words other than 9000 come back as errors that carry
// the status word and can be tested with errors.Is and errors.As.
package schsm
