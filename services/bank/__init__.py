"""A collecting bank's sandbox: pay a Gerbang billing code at a teller, ATM or mobile screen (see README.md)."""
