"""One reader per input form; each turns bytes or text into a `helpers.document.Document`."""
