def f():
    return 1
    

  # comment at odd indent
    
x = f()
