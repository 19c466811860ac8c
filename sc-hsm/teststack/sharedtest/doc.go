// Package sharedtest holds only tests: it checks teststack.Main and
// teststack.Shared with an in-process PC/SC client (ebfe/scard), which
// needs its own test binary because the socket is chosen in TestMain.
package sharedtest
