from qa.cli import run

run()
