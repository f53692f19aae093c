package dev.vtd.cli;

/** A user-supplied argument or file is wrong: printed as one line, exit code 2, no stack trace. */
public final class UserInputException extends RuntimeException {
    public UserInputException(String message) {
        super(message);
    }
}
