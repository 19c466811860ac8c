package wizard

import (
	"errors"
	"fmt"
	"io"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
)

// SurveyPrompter asks on a terminal with survey. In and Out must be the
// terminal; survey puts it in raw mode and queries the cursor position.
type SurveyPrompter struct {
	In  terminal.FileReader
	Out terminal.FileWriter
	Err io.Writer
}

func (s *SurveyPrompter) opts(q Question) []survey.AskOpt {
	opts := []survey.AskOpt{survey.WithStdio(s.In, s.Out, s.Err)}
	if q.Validate != nil {
		opts = append(opts, survey.WithValidator(func(ans any) error {
			switch v := ans.(type) {
			case string:
				return q.Validate(v)
			case survey.OptionAnswer:
				return q.Validate(v.Value)
			default:
				return fmt.Errorf("unexpected answer type %T", ans)
			}
		}))
	}
	return opts
}

// Input asks for a line of text.
func (s *SurveyPrompter) Input(q Question) (string, error) {
	var answer string
	err := survey.AskOne(&survey.Input{Message: q.Message, Help: q.Help, Default: q.Default}, &answer, s.opts(q)...)
	return answer, wrapInterrupt(err)
}

// Password asks for a secret; survey shows a * per character typed.
func (s *SurveyPrompter) Password(q Question) (string, error) {
	var answer string
	err := survey.AskOne(&survey.Password{Message: q.Message, Help: q.Help}, &answer, s.opts(q)...)
	return answer, wrapInterrupt(err)
}

// Confirm asks a yes-or-no question.
func (s *SurveyPrompter) Confirm(q Question) (bool, error) {
	var answer bool
	err := survey.AskOne(&survey.Confirm{Message: q.Message, Help: q.Help, Default: q.DefaultYes}, &answer, survey.WithStdio(s.In, s.Out, s.Err))
	return answer, wrapInterrupt(err)
}

// Select asks for one of q.Options with the arrow keys.
func (s *SurveyPrompter) Select(q Question) (string, error) {
	var answer string
	prompt := &survey.Select{Message: q.Message, Help: q.Help, Options: q.Options, PageSize: len(q.Options)}
	if q.Default != "" {
		prompt.Default = q.Default
	}
	err := survey.AskOne(prompt, &answer, s.opts(q)...)
	return answer, wrapInterrupt(err)
}

// Show prints text followed by a blank line.
func (s *SurveyPrompter) Show(text string) {
	fmt.Fprintf(s.Out, "%s\n\n", text)
}

// ShowSecret prints text, waits for Enter and then clears the screen and
// the scrollback (ESC [2J, ESC [3J), so that the secret does not stay
// visible. Terminals without ESC [3J support keep it in their scrollback.
func (s *SurveyPrompter) ShowSecret(text string) error {
	fmt.Fprintf(s.Out, "%s\n\n", text)
	var written bool
	q := &survey.Confirm{Message: "Written down? The screen is cleared next.", Default: true}
	for !written {
		if err := survey.AskOne(q, &written, survey.WithStdio(s.In, s.Out, s.Err)); err != nil {
			return wrapInterrupt(err)
		}
	}
	fmt.Fprint(s.Out, "\x1b[H\x1b[2J\x1b[3J")
	return nil
}

// wrapInterrupt keeps survey's interrupt error matchable as ErrInterrupted
// and adds what the question was to other terminal errors.
func wrapInterrupt(err error) error {
	if err == nil || errors.Is(err, terminal.InterruptErr) {
		return err
	}
	return fmt.Errorf("reading the answer from the terminal: %w", err)
}
