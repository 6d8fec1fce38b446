package jobs

import (
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// retryable is the one place that turns error kinds into retry decisions: errors a
// retry cannot fix are archived at once; transient and unknown errors retry.
func retryable(err error) error {
	if err == nil {
		return nil
	}
	switch apperr.KindOf(err) {
	case apperr.Invalid, apperr.NotFound, apperr.Conflict, apperr.FailedPrecondition,
		apperr.Forbidden, apperr.Unauthenticated:
		return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	}
	return err
}
