"""Pages of the recommendations: register, summary, a recommendation with its history, status update."""
