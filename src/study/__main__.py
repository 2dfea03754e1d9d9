from study.run.cli import app

app(prog_name="study")
