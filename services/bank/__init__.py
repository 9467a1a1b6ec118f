"""A collecting bank's sandbox: pay a Gerbang billing code at a teller, ATM, mobile or card screen (see README.md)."""
