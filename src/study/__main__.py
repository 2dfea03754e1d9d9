from study.cli import app

app(prog_name="study")
