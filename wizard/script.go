package wizard

import (
	"fmt"
	"slices"
)

// Step is one scripted answer. An empty Answer presses Enter: it takes the
// question's default, or the first option of a Select without one.
// Confirm questions take "yes" or "no".
type Step struct {
	Name      string // the Question.Name this answer is for
	Answer    string
	Interrupt bool // press Ctrl-C instead of answering
}

// Rejection is an answer that a question's validator rejected.
type Rejection struct {
	Name    string
	Message string
}

// Script is a Prompter that answers from a list of steps, for tests of the
// question flow without a terminal. A question that does not match the
// next step fails with an error naming both.
type Script struct {
	Steps []Step

	Asked    []Question  // every question asked, repeats included
	Rejected []Rejection // answers the validators rejected, in order
	Shown    []string    // texts passed to Show
	Secrets  []string    // texts passed to ShowSecret
}

func (s *Script) next(q Question) (Step, error) {
	s.Asked = append(s.Asked, q)
	if len(s.Steps) == 0 {
		return Step{}, fmt.Errorf("script has no answer left for question %q (%s)", q.Name, q.Message)
	}
	step := s.Steps[0]
	s.Steps = s.Steps[1:]
	if step.Name != q.Name {
		return Step{}, fmt.Errorf("question %q (%s) was asked, but the script answers %q next", q.Name, q.Message, step.Name)
	}
	if step.Interrupt {
		return Step{}, ErrInterrupted
	}
	return step, nil
}

// ask answers a text question, re-asking after a rejected answer as the
// terminal prompter does.
func (s *Script) ask(q Question, fallback string) (string, error) {
	for {
		step, err := s.next(q)
		if err != nil {
			return "", err
		}
		answer := step.Answer
		if answer == "" {
			answer = fallback
		}
		if q.Options != nil && !slices.Contains(q.Options, answer) {
			return "", fmt.Errorf("question %q has no option %q", q.Name, answer)
		}
		if q.Validate != nil {
			if err := q.Validate(answer); err != nil {
				s.Rejected = append(s.Rejected, Rejection{Name: q.Name, Message: err.Error()})
				continue
			}
		}
		return answer, nil
	}
}

// Input answers from the script; Enter gives q.Default.
func (s *Script) Input(q Question) (string, error) { return s.ask(q, q.Default) }

// Password answers from the script; Enter gives "".
func (s *Script) Password(q Question) (string, error) { return s.ask(q, "") }

// Select answers from the script; Enter gives q.Default or the first option.
func (s *Script) Select(q Question) (string, error) {
	fallback := q.Default
	if fallback == "" && len(q.Options) > 0 {
		fallback = q.Options[0]
	}
	return s.ask(q, fallback)
}

// Confirm answers "yes" or "no" from the script; Enter gives q.DefaultYes.
func (s *Script) Confirm(q Question) (bool, error) {
	step, err := s.next(q)
	if err != nil {
		return false, err
	}
	switch step.Answer {
	case "":
		return q.DefaultYes, nil
	case "yes":
		return true, nil
	case "no":
		return false, nil
	default:
		return false, fmt.Errorf("confirm question %q takes yes, no or \"\", not %q", q.Name, step.Answer)
	}
}

// Show records text.
func (s *Script) Show(text string) { s.Shown = append(s.Shown, text) }

// ShowSecret records text.
func (s *Script) ShowSecret(text string) error {
	s.Secrets = append(s.Secrets, text)
	return nil
}
