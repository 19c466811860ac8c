// Package wizard asks a person, one question at a time, for the settings of
// a SmartCard-HSM-family token and returns the same schsm.Settings value
// that the init command builds from flags.
//
// Every question carries help text, a default and a validator from package
// schsm, so an invalid answer is asked again with the reason. The questions
// go through a Prompter: SurveyPrompter draws them on a terminal with
// github.com/AlecAivazis/survey/v2, and Script answers them in tests. The
// package never talks to a card; the caller lists the tokens and runs the
// provisioning.
package wizard

import "github.com/AlecAivazis/survey/v2/terminal"

// ErrInterrupted is returned when the person presses Ctrl-C at a question.
// It is survey's terminal.InterruptErr, so errors.Is matches either name.
var ErrInterrupted = terminal.InterruptErr

// Question is one question to ask.
type Question struct {
	// Name identifies the question, as the Q constants list them. The
	// scripted prompter matches its answers by it.
	Name    string
	Message string
	// Help is shown when the person types "?": what the setting does, what
	// it costs and what the default is.
	Help string
	// Default is the answer that Enter gives for Input and Select. Password
	// questions have no default.
	Default string
	// DefaultYes is the default of a Confirm question.
	DefaultYes bool
	// Options are the choices of a Select question.
	Options []string
	// Validate checks an answer of Input, Password or Select. An error makes
	// the prompter show its message and ask again. It may be nil.
	Validate func(answer string) error
}

// Prompter asks questions. Every method returns ErrInterrupted when the
// person interrupts.
type Prompter interface {
	Input(q Question) (string, error)
	// Password asks without echoing the answer.
	Password(q Question) (string, error)
	Confirm(q Question) (bool, error)
	// Select returns one of q.Options.
	Select(q Question) (string, error)
	// Show prints information, such as a warning, without asking.
	Show(text string)
	// ShowSecret prints a secret that must be written down, waits until the
	// person confirms, and then removes it from the screen where the
	// terminal allows.
	ShowSecret(text string) error
}
