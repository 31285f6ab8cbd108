"""The web page (``spectrocanvas ui``): a Gradio app, thin over the library functions.

    options   the tools' options as one table, from which the form and the keyword arguments are made
    uploads   limits on what a visitor may upload (size, pixels, length, types), checked before any decoding
    runs      run folders under the outputs directory, history, zips, and paths kept inside it
    compose   the pocket/SD composition with a live preview of the canvas
    app       the Blocks (tabs Compose, Sonify, Imprint, Analyze, History), the queue and the launch

Gradio and the torch-using layers are imported on first use, so the page answers before torch has loaded.
"""
