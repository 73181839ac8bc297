"""feedbackctl: review end-user feedback on your agents from a terminal (`feedbackctl --help`)."""
