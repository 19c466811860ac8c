// Command sc-hsm-init initializes SmartCard-HSM-family tokens (CardContact
// SmartCard-HSM, Nitrokey HSM 2, Pico HSM) over PC/SC and verifies the
// result through OpenSC's PKCS#11 module.
package main

import (
	"fmt"
	"os"
)

func main() {
	app := newApp(os.Stdin, os.Stdout, os.Stderr)
	err := app.execute(os.Args[1:])
	os.Exit(exitCodeOf(err))
}

// printError writes err once, as JSON when --json is set.
func (a *app) printError(err error) {
	if a.jsonOut {
		a.writeJSON(a.stdout, map[string]any{"ok": false, "error": err.Error(), "exit_code": exitCodeOf(err)})
		return
	}
	fmt.Fprintf(a.stderr, "sc-hsm-init: %v\n", err)
}
