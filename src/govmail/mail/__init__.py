"""What a message is: parsed view, MIME helpers, Vietnamese text folding."""
