package syncer

// SetHoldIndexMax sets the largest match index a run of e keeps through
// its ERP phase (see holdIndexMax), so that tests reach both paths.
func SetHoldIndexMax(e *Engine, n int) { e.holdMax = n }
