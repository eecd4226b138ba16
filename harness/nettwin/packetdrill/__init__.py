"""packetdrill scripts against nettwin (virtual time) and the real kernel: the
language (lexer, parser), the runner, and the targets."""
